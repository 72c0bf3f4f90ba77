/**
 * simple-oauth2 for the client credentials grant: loaded once, on first use, with its debug logging
 * of the secret switched off; its grant set up with the strategy's time limit, CA and no redirects;
 * its failures (wreck's Boom errors) turned into the library's typed errors.
 */
import { transportFailure } from "../auth/token-request.js";
import { AuthenticationError, RedirectRefusedError, TokenEndpointError, TokenResponseError } from "../core/errors.js";
import { scrub } from "../core/redact.js";

type SimpleOAuth2 = typeof import("simple-oauth2");
let loading: Promise<SimpleOAuth2> | undefined;

/**
 * Loads simple-oauth2 once. It logs its request options, client secret and Authorization header
 * included, through the `debug` package; its namespace is switched off so a DEBUG setting meant
 * for something else cannot print the secret.
 */
function loadSimpleOAuth2(): Promise<SimpleOAuth2> {
  loading ??= Promise.all([import("simple-oauth2"), import("node:module")]).then(([module, { createRequire }]) => {
    const debugLib = createRequire(import.meta.resolve("simple-oauth2"))("debug") as {
      disable(): string;
      enable(ns: string): void;
    };
    const enabled = debugLib.disable();
    debugLib.enable([enabled, "-simple-oauth2:*"].filter(Boolean).join(","));
    return module;
  });
  return loading;
}

/** simple-oauth2's client credentials grant. */
export type Grant = InstanceType<SimpleOAuth2["ClientCredentials"]>;

/** What a grant is made from: the client, where its token endpoint is, and how to reach it. */
export interface GrantSettings {
  clientId: string;
  secret: string;
  tokenUrl: URL;
  authMethod: "basic" | "body";
  timeoutMs: number;
  ca?: string | string[] | undefined;
}

/** Makes the grant (simple-oauth2 and the Node HTTP agents are loaded now). */
export async function createGrant({
  clientId,
  secret,
  tokenUrl,
  authMethod,
  timeoutMs,
  ca: extra,
}: GrantSettings): Promise<Grant> {
  const { ClientCredentials } = await loadSimpleOAuth2();
  const https = await import("node:https");
  const http = await import("node:http");
  const { rootCertificates } = await import("node:tls");
  const ca = extra === undefined ? undefined : [...rootCertificates, ...(typeof extra === "string" ? [extra] : extra)];
  return new ClientCredentials({
    client: { id: clientId, secret },
    auth: { tokenHost: tokenUrl.origin, tokenPath: tokenUrl.pathname + tokenUrl.search },
    options: { authorizationMethod: authMethod === "basic" ? "header" : "body", bodyFormat: "form" },
    // simple-oauth2 sends with @hapi/wreck: a time limit, and the CA through its HTTPS agent.
    http: {
      timeout: timeoutMs,
      // Never followed: the request holds the client secret (see fromWreckError).
      redirects: false,
      ...(ca && {
        agents: {
          https: new https.Agent({ ca, keepAlive: true }),
          http: new http.Agent({ keepAlive: true }),
          httpsAllowUnauthorized: new https.Agent({ ca }),
        },
      }),
    } as never,
  });
}

interface BoomLike {
  isBoom?: boolean;
  output?: { statusCode?: number };
  data?: { payload?: unknown; res?: { statusCode?: number; headers?: Record<string, string> } } | null;
  message?: string;
}

/**
 * simple-oauth2 fails with wreck's Boom errors; these become the library's typed errors. When a
 * response arrived, the Boom carries its body (which may hold tokens), so it is not kept as `cause`.
 */
export function fromWreckError(
  error: unknown,
  label: string,
  tokenUrl: URL,
  timeoutMs: number,
  secrets: string[],
): Error {
  const boom = error as BoomLike;
  // A response arrived (an error status, or a body wreck could not parse as JSON) when `res` is set.
  const response = boom.data?.res;
  if (!boom.isBoom || !response) {
    const timedOut = boom.output?.statusCode === 504 || /timeout/i.test(boom.message ?? "");
    return transportFailure(error, label, timeoutMs, timedOut);
  }
  const status = response.statusCode ?? boom.output?.statusCode ?? 0;
  const payload = boom.data?.payload;
  const type = response.headers?.["content-type"] ?? "no content type";
  if (status >= 300 && status < 400) {
    const location = response.headers?.location;
    let target: URL | undefined;
    try {
      target = location ? new URL(location, tokenUrl) : undefined;
    } catch {
      target = undefined;
    }
    return new RedirectRefusedError(
      label,
      status,
      target,
      "a token request holds the client secret, so it is never followed. Check tokenUrl.",
    );
  }
  if (status >= 200 && status < 300) {
    return new TokenResponseError(
      `${label} answered HTTP ${status} with a body that is not a JSON token response (${type}). Check tokenUrl.`,
    );
  }
  const body =
    typeof payload === "object" && payload !== null && !Buffer.isBuffer(payload)
      ? (payload as Record<string, unknown>)
      : {};
  const detail = scrub(
    [body.error, body.error_description]
      .filter((p): p is string => typeof p === "string")
      .join(": ")
      .slice(0, 300),
    secrets,
  );
  if (status === 400 || status === 401 || status === 403) {
    return new AuthenticationError(
      `${label} was refused with HTTP ${status}${detail ? `: ${detail}` : ""}. Check the client id, secret and ` +
        `authMethod.`,
      { status },
    );
  }
  return new TokenEndpointError(`${label} failed with HTTP ${status}${detail ? `: ${detail}` : ""}.`, {
    status,
    retryable: status >= 500 || status === 429,
  });
}
