import type { AuthBinding, AuthProvider } from "../auth/provider.js";
import { requireText } from "../core/required.js";
import type { MaybePromise } from "../core/fetch.js";
import { assertSecureTransport } from "../http/origins.js";
import type { TokenCycleOptions } from "../auth/token-cycler.js";
import type { TokenSource } from "../auth/token-provider.js";
import type { TokenStoreOptions } from "../auth/token-store.js";
import { tokenStrategy } from "../auth/token-strategy.js";
import { transportFailure } from "../auth/token-request.js";
import { parseTokenResponse } from "../auth/token-set.js";
import {
  AuthenticationError,
  InvalidOptionError,
  RedirectRefusedError,
  TokenEndpointError,
  TokenResponseError,
} from "../core/errors.js";
import { rememberSecret, scrub } from "../core/redact.js";

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
  let grant: Promise<InstanceType<SimpleOAuth2["ClientCredentials"]>> | undefined;

  const createGrant = async () => {
    const { ClientCredentials } = await loadSimpleOAuth2();
    const https = await import("node:https");
    const http = await import("node:http");
    const { rootCertificates } = await import("node:tls");
    const ca =
      options.ca === undefined
        ? undefined
        : [...rootCertificates, ...(typeof options.ca === "string" ? [options.ca] : options.ca)];
    return new ClientCredentials({
      client: { id: options.clientId, secret: await resolveSecret() },
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
  };

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
      grant ??= createGrant().catch((error: unknown) => {
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
function fromWreckError(error: unknown, label: string, tokenUrl: URL, timeoutMs: number, secrets: string[]): Error {
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
