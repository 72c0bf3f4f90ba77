import type { AuthBinding, AuthProvider } from "../auth/provider.js";
import { requireText } from "../core/required.js";
import type { MaybePromise } from "../core/fetch.js";
import { assertSecureTransport } from "../http/origins.js";
import type { TokenCycleOptions } from "../auth/token-cycler.js";
import type { TokenSource } from "../auth/token-strategy.js";
import type { TokenStoreOptions } from "../auth/token-store.js";
import { tokenStrategy } from "../auth/token-strategy.js";
import { parseTokenResponse } from "../auth/token-set.js";
import { InvalidOptionError } from "../core/errors.js";
import { rememberSecret } from "../core/redact.js";
import { createGrant, fromWreckError, type Grant } from "./client-credentials-grant.js";

/** Options of {@link clientCredentials}. */
export interface ClientCredentialsOptions extends TokenCycleOptions, TokenStoreOptions {
  /** The token endpoint, e.g. `https://idp.example.com/oauth2/token`. */
  tokenUrl: string;
  clientId: string;
  /**
   * The client secret, or a callback that supplies it when a token is needed (from a vault, or a
   * prompt), so that a cached token can be used without it.
   */
  clientSecret: string | (() => MaybePromise<string>);
  /** Space-separated scopes, or a list. */
  scope?: string | string[];
  /**
   * How the client authenticates: HTTP Basic (`client_secret_basic`, the default) or in the form body
   * (`client_secret_post`).
   */
  authMethod?: "basic" | "body";
  /** Extra form parameters, e.g. `{ audience: "..." }`. */
  params?: Record<string, string>;
  /** PEM certificates to trust for the token endpoint (Node's own roots stay trusted). */
  ca?: string | string[];
  /** Time limit per token call (default 30 s). */
  timeoutMs?: number;
  /** Allow a plain-HTTP token endpoint that is not loopback (default: the client's setting). */
  allowInsecureHttp?: boolean;
}

/**
 * OAuth2 client credentials (RFC 6749 section 4.4) against any standard authorization server, with
 * `simple-oauth2` (loaded on first use). Tokens are renewed before expiry while the old one stays in
 * use, one request serves any number of concurrent callers, and a 401 renews once.
 *
 * @example
 * ```ts
 * const auth = clientCredentials({
 *   tokenUrl: "https://idp.example.com/oauth2/token",
 *   clientId: "ml-jobs",
 *   clientSecret: process.env.ML_SECRET!,
 *   scope: "mlserver",
 * });
 * ```
 */
export function clientCredentials(options: ClientCredentialsOptions): AuthProvider & TokenSource {
  let tokenUrl: URL;
  try {
    tokenUrl = new URL(options.tokenUrl);
  } catch {
    throw new InvalidOptionError(`clientCredentials: tokenUrl ${JSON.stringify(options.tokenUrl)} is not a URL.`);
  }
  if (tokenUrl.username || tokenUrl.password)
    throw new InvalidOptionError(
      "clientCredentials: tokenUrl must not hold a username or password; pass clientId and clientSecret.",
    );
  requireText(options.clientId, "clientCredentials' clientId");
  if (typeof options.clientSecret !== "function") requireText(options.clientSecret, "clientCredentials' clientSecret");
  if (typeof options.clientSecret === "string") rememberSecret(options.clientSecret);
  let secret: string | undefined = typeof options.clientSecret === "string" ? options.clientSecret : undefined;
  const resolveSecret = async (): Promise<string> => {
    if (secret === undefined) {
      const value = await (options.clientSecret as () => MaybePromise<string>)();
      requireText(value, "The secret from clientCredentials' clientSecret callback");
      rememberSecret(value);
      secret = value;
    }
    return secret;
  };
  const authMethod = options.authMethod ?? "basic";
  if (authMethod !== "basic" && authMethod !== "body")
    throw new InvalidOptionError('clientCredentials: authMethod is "basic" or "body".');
  const timeoutMs = options.timeoutMs ?? 30_000;
  const label = `POST ${tokenUrl.pathname} at ${tokenUrl.origin}`;
  let allowInsecureHttp = options.allowInsecureHttp ?? false;
  let grant: Promise<Grant> | undefined;

  const scopeText = Array.isArray(options.scope) ? options.scope.join(" ") : options.scope;
  // Tokens differ by scope and extra parameters (e.g. audience): they are part of the account.
  const account =
    options.storeAccount ?? [options.clientId, scopeText ?? "", JSON.stringify(options.params ?? {})].join(" ");
  return tokenStrategy({
    strategy: "client-credentials",
    options,
    storeKey: () => ({ origin: tokenUrl.origin + tokenUrl.pathname, account }),
    bind(binding: AuthBinding) {
      allowInsecureHttp = options.allowInsecureHttp ?? binding.allowInsecureHttp;
    },
    async acquire() {
      assertSecureTransport(tokenUrl, allowInsecureHttp);
      // A failure (say, no secret yet) is not kept: the next attempt starts again.
      grant ??= resolveSecret()
        .then((secret) =>
          createGrant({ clientId: options.clientId, secret, tokenUrl, authMethod, timeoutMs, ca: options.ca }),
        )
        .catch((error: unknown) => {
          grant = undefined;
          throw error;
        });
      const scope = scopeText;
      let token: unknown;
      const oauth = await grant;
      const sentAt = (options.clock ?? Date.now)();
      try {
        token = (await oauth.getToken({ ...(scope && { scope }), ...options.params })).token;
      } catch (error) {
        throw fromWreckError(error, label, tokenUrl, timeoutMs, secret === undefined ? [] : [secret]);
      }
      return parseTokenResponse(token, sentAt);
    },
  }).provider;
}
