import { InvalidCredentialError, TokenResponseError } from "../core/errors.js";
import { rememberSecret } from "../core/redact.js";
import { assertHeaderValue } from "../http/credentials.js";

/**
 * A usable access token and what is known about it.
 *
 * @group Building blocks
 */
export interface TokenSet {
  /** Sent as `Authorization: Bearer <accessToken>`. */
  accessToken: string;
  /** Always `Bearer` for the strategies in this package. */
  tokenType: string;
  /** When the access token stops working, in milliseconds since the Unix epoch. */
  expiresAt: number;
  /** Present when the server issued one. */
  refreshToken?: string;
  /** When the issuer asks for renewal to start (ms since the epoch), if it says; else it is derived from the expiry. */
  refreshAt?: number;
}

/**
 * Used when a token response says nothing about expiry and the token is not a JWT with `exp`.
 *
 * @group Building blocks
 */
export const DEFAULT_TOKEN_LIFETIME_MS = 60 * 60 * 1000;
/** Longer lifetimes are refused as implausible rather than trusted. */
const MAX_LIFETIME_SECONDS = 10 * 365 * 24 * 3600;

/** `expires_in` / `expires_on` may be numbers or numeric strings; anything else is an error. */
function seconds(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === "string" && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0) {
    throw new TokenResponseError(
      `The token response's ${field} is not a non-negative number of seconds (got a ` +
        `${typeof value}${typeof value === "number" ? ` ${value}` : ""}).`,
    );
  }
  return n;
}

/** The `exp` claim of a JWT, without verifying it (only the issuer's audience verifies). */
export function jwtExpiry(token: string): number | undefined {
  const payload = token.split(".")[1];
  if (!payload || token.split(".").length !== 3) return undefined;
  try {
    const binary = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)))) as {
      exp?: unknown;
    };
    return typeof claims.exp === "number" && Number.isFinite(claims.exp) ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Validates an OAuth2-style token response (RFC 6749 section 5.1, plus ML Server's `expires_on`)
 * and turns it into a {@link TokenSet}. Expiry comes from `expires_in`, else `expires_on` (epoch
 * seconds), else the JWT `exp`, else {@link DEFAULT_TOKEN_LIFETIME_MS}. No message quotes the body.
 *
 * `now` should be when the token request was sent: `expires_in` counts from the server's issuing,
 * which is later, so the client never believes a token lives longer than the server does, however
 * slowly the response was processed.
 *
 * @group Building blocks
 */
export function parseTokenResponse(
  body: unknown,
  now: number,
  defaultLifetimeMs = DEFAULT_TOKEN_LIFETIME_MS,
): TokenSet {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new TokenResponseError(
      `The token response is not a JSON object (got ` +
        `${Array.isArray(body) ? "an array" : body === null ? "null" : `a ${typeof body}`}).`,
    );
  }
  const r = body as Record<string, unknown>;
  if (typeof r.access_token !== "string" || r.access_token.trim() === "") {
    throw new TokenResponseError("The token response has no access_token (or it is empty or not a string).");
  }
  rememberSecret(r.access_token);
  if (typeof r.refresh_token === "string") rememberSecret(r.refresh_token);
  try {
    assertHeaderValue(r.access_token, "The access token");
  } catch (error) {
    if (!(error instanceof InvalidCredentialError)) throw error;
    throw new TokenResponseError(
      "The token response's access_token holds a line break, control or non-Latin-1 character, so it cannot be " +
        "sent in a header; is this the right server?",
    );
  }
  if (r.token_type !== undefined && (typeof r.token_type !== "string" || r.token_type.toLowerCase() !== "bearer")) {
    // Quote the type only when it looks like a type name; it might be anything, even a secret.
    const shown =
      typeof r.token_type === "string" && /^[A-Za-z_-]{1,20}$/.test(r.token_type)
        ? JSON.stringify(r.token_type)
        : "not a known type";
    throw new TokenResponseError(`The token response's token_type is ${shown}; only Bearer tokens are supported.`);
  }
  if (r.refresh_token !== undefined && (typeof r.refresh_token !== "string" || r.refresh_token === "")) {
    throw new TokenResponseError("The token response's refresh_token is empty or not a string.");
  }
  const expiresIn = seconds(r.expires_in, "expires_in");
  const expiresOn = seconds(r.expires_on, "expires_on");
  const expiresAt =
    expiresIn !== undefined
      ? now + expiresIn * 1000
      : expiresOn !== undefined
        ? expiresOn * 1000
        : (jwtExpiry(r.access_token) ?? now + defaultLifetimeMs);
  // One bound for every source of expiry (expires_in, expires_on, a JWT's exp).
  if (expiresAt - now > MAX_LIFETIME_SECONDS * 1000) {
    const source =
      expiresIn !== undefined
        ? `expires_in (${expiresIn} s)`
        : expiresOn !== undefined
          ? "expires_on"
          : "the token's exp claim";
    throw new TokenResponseError(
      `The token response's ${source} is implausibly long (more than 10 years); refusing to trust it.`,
    );
  }
  return {
    accessToken: r.access_token,
    tokenType: "Bearer",
    expiresAt,
    ...(typeof r.refresh_token === "string" && { refreshToken: r.refresh_token }),
  };
}
