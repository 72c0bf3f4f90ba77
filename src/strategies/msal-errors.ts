/** MSAL's errors, as this library's typed errors with stable codes, secrets scrubbed. */
import type { MsalNetwork } from "./msal-network.js";
import {
  AuthenticationError,
  AuthorizationDeclinedError,
  DeviceCodeExpiredError,
  MlServerClientError,
  TokenEndpointError,
} from "../core/errors.js";
import { scrub } from "../core/redact.js";

/** The authority's refusals of the client or its request: the credentials or scopes are wrong. */
const REFUSALS = new Set([
  "invalid_client",
  "unauthorized_client",
  "invalid_grant",
  "invalid_scope",
  "invalid_request",
  "invalid_resource",
  "unsupported_grant_type",
]);
/** The codes told apart below, the refusals among them. */
const KNOWN_CODES = new Set([
  "expired_token",
  "code_expired",
  "access_denied",
  "authorization_declined",
  "user_cancelled",
  ...REFUSALS,
]);

/** Turns whatever MSAL threw into this library's typed errors, with secrets scrubbed. */
export function fromMsalError(error: unknown, network: MsalNetwork, secrets: string[], what: string): unknown {
  if (error instanceof MlServerClientError) return error;
  if (network.lastError) return network.lastError;
  const outer = String((error as { errorCode?: string }).errorCode ?? "");
  const detail = scrub(
    String((error as { errorMessage?: string }).errorMessage ?? (error as Error).message ?? "")
      .split("\n")[0]!
      .slice(0, 300),
    secrets,
  );
  const reason = `${outer}${detail && !detail.startsWith(outer) ? `: ${detail}` : ""}`;
  // MSAL sometimes wraps the server's error code (e.g. post_request_failed: expired_token).
  const code = [outer, ...detail.split(/[^a-z_]+/)].find((c) => KNOWN_CODES.has(c)) ?? outer;
  if (code === "expired_token" || code === "code_expired") {
    return new DeviceCodeExpiredError(
      `The device code expired before the sign-in was completed (${reason}). Start again and enter the code sooner.`,
      { cause: error },
    );
  }
  if (code === "access_denied" || code === "authorization_declined" || code === "user_cancelled") {
    return new AuthorizationDeclinedError(`The sign-in was declined (${reason}).`, { cause: error });
  }
  if (REFUSALS.has(code)) {
    return new AuthenticationError(
      `The authority refused ${what} (${reason}). Check the client id, secret or certificate, and the scopes.`,
      { cause: error },
    );
  }
  if (code === "endpoints_resolution_error" || code === "untrusted_authority" || code === "authority_uri_insecure") {
    return new TokenEndpointError(
      `The authority could not be used (${reason}). Check the authority URL; for a non-Microsoft authority, its ` +
        `/.well-known/openid-configuration must answer.`,
      {
        cause: error,
        retryable: false,
      },
    );
  }
  return new TokenEndpointError(`Getting ${what} failed (${reason || (error as Error).name}).`, {
    cause: error,
    retryable: false,
  });
}
