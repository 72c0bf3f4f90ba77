/**
 * What the two Azure AD strategies share: MSAL configuration for Azure and for other OIDC
 * authorities, an MSAL network client over the library's fetch (so a custom CA applies), and the
 * translation of MSAL's errors into this library's typed errors. msal-node itself is loaded only by
 * the strategies, when they first need a token.
 */
import type {
  AuthenticationResult,
  Configuration,
  ICachePlugin,
  INetworkModule,
  NetworkRequestOptions,
  NetworkResponse,
  TokenCacheContext,
} from "@azure/msal-node";
import type { AuthBinding, AuthProvider } from "../auth/provider.js";
import type { FetchLike } from "../core/fetch.js";
import type { TokenCycleOptions } from "../auth/token-cycler.js";
import type { TokenSource } from "../auth/token-provider.js";
import type { StoreBinding, TokenStoreOptions } from "../auth/token-store.js";
import { tokenStrategy } from "../auth/token-strategy.js";
import {
  AuthenticationError,
  AuthorizationDeclinedError,
  DeviceCodeExpiredError,
  InvalidOptionError,
  MlServerClientError,
  TokenEndpointError,
  TokenResponseError,
} from "../core/errors.js";
import { scrub } from "../core/redact.js";
import { CredentialBoundary } from "../http/boundary.js";
import { asTokenCall } from "../http/exchange.js";
import { readLimited, transportFailure } from "../auth/token-request.js";
import { debug, warnOnce } from "../core/log.js";
import { rememberSecret } from "../core/redact.js";
import { fetchTrusting } from "../http/dispatcher.js";
import { createTransport } from "../http/pipeline.js";

/** Options every Azure AD strategy takes. */
export interface AadCommonOptions extends TokenStoreOptions {
  /** The application (client) id of the app registration. */
  clientId: string;
  /**
   * The authority, e.g. `https://login.microsoftonline.com/<tenant>` (ML Server's docs write
   * `https://login.windows.net/<tenant>`). Default: Microsoft's, with `tenantId`. Any other OIDC
   * authority (ADFS, Keycloak...) works too: it is then used in OIDC mode, as a known authority.
   */
  authority?: string;
  /** The directory (tenant) id or domain, when `authority` is not given. */
  tenantId?: string;
  /** The scopes to ask for, e.g. `["api://<web app id>/.default"]`; or give `resource`. */
  scopes?: string[];
  /** The ML Server web app's application id (ML Server's `Audience`); becomes the `<resource>/.default` scope. */
  resource?: string;
  /** PEM certificates to trust for the authority, e.g. a corporate root or a self-signed test CA. */
  ca?: string | string[];
  /** The fetch for authority calls; default: the client's. */
  fetch?: FetchLike;
  /** Overrides the authority mode detection (Microsoft host → `AAD`, anything else → `OIDC`). */
  protocolMode?: "AAD" | "OIDC";
  /** Authorities MSAL may trust without instance discovery; default: the authority's host when not Microsoft's. */
  knownAuthorities?: string[];
  /** Time limit per authority call (default 30 s). */
  timeoutMs?: number;
}

const MICROSOFT_HOSTS = new Set([
  "login.microsoftonline.com",
  "login.microsoftonline.us",
  "login.windows.net",
  "login.microsoft.com",
  "login.chinacloudapi.cn",
  "login.partner.microsoftonline.cn",
]);

export function resolveScopes(options: AadCommonOptions, strategy: string): string[] {
  if (options.scopes && options.resource)
    throw new InvalidOptionError(`${strategy} takes scopes or resource, not both.`);
  if (options.resource) return [`${options.resource.replace(/\/+$/, "")}/.default`];
  if (!options.scopes?.length)
    throw new InvalidOptionError(
      `${strategy} needs scopes (e.g. ["api://<web app id>/.default"]) or resource (the ML Server web app id).`,
    );
  return options.scopes;
}

export function resolveAuthority(options: AadCommonOptions, strategy: string, defaultTenant?: string): URL {
  const tenant = options.tenantId ?? defaultTenant;
  const text = options.authority ?? (tenant ? `https://login.microsoftonline.com/${tenant}` : undefined);
  if (!text) throw new InvalidOptionError(`${strategy} needs authority or tenantId.`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidOptionError(`${strategy}: authority ${JSON.stringify(text)} is not a URL.`);
  }
  if (url.protocol !== "https:")
    throw new InvalidOptionError(`${strategy}: the authority must use https:// (MSAL refuses anything else).`);
  return url;
}

/**
 * A per-strategy MSAL network client. It records the typed error it raised, because MSAL wraps
 * network failures in its own errors and the original reason would otherwise be lost.
 */
export class MsalNetwork implements INetworkModule {
  lastError: MlServerClientError | undefined;
  #fetch: FetchLike | undefined;

  constructor(private readonly options: AadCommonOptions) {}

  /**
   * Uses the client's transport unless the strategy was given its own fetch or CA; those get a
   * transport of their own, so authority calls always meet the same send-time and redirect rules.
   */
  bind(binding: AuthBinding | undefined): void {
    if (this.#fetch) return;
    const { fetch, ca } = this.options;
    if (!fetch && !ca && binding) {
      this.#fetch = binding.fetch;
      return;
    }
    const base = fetch ?? globalThis.fetch;
    this.#fetch = createTransport(new CredentialBoundary([], false), ca ? fetchTrusting(ca, base) : base);
  }

  sendGetRequestAsync<T>(url: string, options?: NetworkRequestOptions, timeout?: number): Promise<NetworkResponse<T>> {
    return this.#send<T>(new Request(url, { headers: options?.headers ?? {} }), "GET", timeout);
  }

  sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    // Token requests: their form body holds the client secret, assertion or device code.
    return this.#send<T>(
      asTokenCall(new Request(url, { method: "POST", headers: options?.headers ?? {}, body: options?.body ?? "" })),
      "POST",
    );
  }

  async #send<T>(request: Request, method: string, timeout?: number): Promise<NetworkResponse<T>> {
    this.bind(undefined);
    const url = new URL(request.url);
    const label = `${method} ${url.pathname}`;
    const timeoutMs = timeout ?? this.options.timeoutMs ?? 30_000;
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      // Errors from the authority are answers MSAL must see (e.g. authorization_pending), so any
      // status is passed through; only transport failures and non-JSON bodies become errors here.
      const sent = new Request(request, { signal });
      const response = await this.#fetch!(method === "POST" ? asTokenCall(sent) : sent);
      const text = await readLimited(response, `The authority's answer to ${label}`);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        // No cause: a parser's message quotes the body, which may be a bare token.
        const type = scrub(response.headers.get("content-type") ?? "no content type").slice(0, 60);
        throw new TokenResponseError(
          `The authority answered ${label} with HTTP ${response.status} and a body that is not JSON (${type}, ` +
            `${text.length} characters). Check the authority URL.`,
        );
      }
      return { headers: Object.fromEntries(response.headers), body: body as T, status: response.status };
    } catch (error) {
      this.lastError =
        error instanceof MlServerClientError && error.code !== "ERR_NETWORK"
          ? error
          : transportFailure(error, `${label} at ${url.origin}`, timeoutMs, signal.aborted);
      throw this.lastError;
    }
  }
}

/** MSAL configuration for the authority: Microsoft's in AAD mode, any other in OIDC mode. */
export function msalConfiguration(
  options: AadCommonOptions,
  authority: URL,
  network: MsalNetwork,
  auth: Record<string, unknown>,
  cachePlugin?: ICachePlugin,
): Configuration {
  const microsoft = MICROSOFT_HOSTS.has(authority.hostname);
  const protocolMode = options.protocolMode ?? (microsoft ? "AAD" : "OIDC");
  return {
    auth: {
      clientId: options.clientId,
      authority: authority.href.replace(/\/$/, ""),
      ...(options.knownAuthorities || !microsoft
        ? { knownAuthorities: options.knownAuthorities ?? [authority.host] }
        : {}),
      ...auth,
    },
    ...(cachePlugin && { cache: { cachePlugin } }),
    system: {
      networkClient: network,
      protocolMode,
      loggerOptions: {
        piiLoggingEnabled: false,
        logLevel: 1, // warnings and errors only
        loggerCallback: (_level: number, message: string) => debug(`msal: ${scrub(message, [])}`),
      },
    } as Configuration["system"],
  };
}

const KNOWN_CODES = new Set([
  "expired_token",
  "code_expired",
  "access_denied",
  "authorization_declined",
  "user_cancelled",
  "invalid_client",
  "unauthorized_client",
  "invalid_grant",
  "invalid_scope",
  "invalid_request",
  "invalid_resource",
  "unsupported_grant_type",
]);
const REFUSALS = new Set([
  "invalid_client",
  "unauthorized_client",
  "invalid_grant",
  "invalid_scope",
  "invalid_request",
  "invalid_resource",
  "unsupported_grant_type",
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

/**
 * MSAL's cache (accounts, refresh and access tokens), persisted through a token store: read before
 * MSAL looks at it, written when MSAL changed it. So a device-code user is not prompted again on
 * the next run, and a service principal's token is reused across runs.
 */
export function storeCachePlugin(binding: () => StoreBinding | undefined): ICachePlugin {
  const warn = (what: string) => (error: unknown) => {
    const b = binding();
    warnOnce(
      `msal-cache-${what}:${b?.key.origin}`,
      `MSAL's cache could not be ${what} the token store (${(error as Error).message}); this process keeps its own.`,
    );
  };
  return {
    async beforeCacheAccess(context: TokenCacheContext) {
      const b = binding();
      if (!b) return;
      const value = await b.store.read(b.key).catch(warn("read from"));
      const cache = value as { v?: unknown; msal?: unknown } | undefined | null;
      if (cache && cache.v === 1 && typeof cache.msal === "string") {
        try {
          context.tokenCache.deserialize(cache.msal);
        } catch (error) {
          warn("read from")(error);
        }
      }
    },
    async afterCacheAccess(context: TokenCacheContext) {
      const b = binding();
      if (!b || !context.cacheHasChanged) return;
      await b.store.write(b.key, { v: 1, msal: context.tokenCache.serialize() }).catch(warn("written to"));
    },
  };
}

/** What differs between the MSAL strategies; {@link msalTokenProvider} does the rest. */
export interface MsalFlow<App> {
  /** The strategy's name in store keys, e.g. `aad-device-code`. */
  strategy: string;
  /** Names what is asked for, in error messages. */
  what: string;
  /** Values never to echo in messages. */
  secrets: string[];
  /** Builds the MSAL application (msal-node is loaded only now), with the store's cache plugin if any. */
  createApp(
    msal: typeof import("@azure/msal-node"),
    network: MsalNetwork,
    cachePlugin: ICachePlugin | undefined,
  ): App | Promise<App>;
  /**
   * Gets a token; `bypassCache` is true once after the server refused the current one. A flow that
   * swallows a failure on purpose clears `network.lastError`, so the stale error masks nothing.
   */
  acquire(app: App, bypassCache: boolean, network: MsalNetwork): Promise<AuthenticationResult | null>;
  /** Forgets what the application cached, on sign-out. */
  forget(app: App): void | Promise<void>;
  /** A signal that abandons the flow: its reason is passed through as it is. */
  signal?: AbortSignal;
}

/**
 * The frame every MSAL strategy shares: msal-node loaded on first use, the shared token cycle
 * (MSAL tokens stay valid while a renewal runs), a cache bypass after a 401, MSAL's errors turned
 * into typed ones, and sign-out.
 */
export function msalTokenProvider<App>(
  options: AadCommonOptions & TokenCycleOptions,
  flow: MsalFlow<App>,
  authority: URL,
  scopes: readonly string[],
): AuthProvider & TokenSource {
  flow.secrets.forEach(rememberSecret);
  const network = new MsalNetwork(options);
  const binding = (): StoreBinding | undefined =>
    options.store && {
      store: options.store,
      key: {
        origin: authority.href,
        account: options.storeAccount ?? `${options.clientId} ${scopes.join(" ")}`,
        strategy: flow.strategy,
      },
    };
  const cachePlugin = options.store && storeCachePlugin(binding);
  let app: Promise<App> | undefined;
  let bypassCache = false;
  return tokenStrategy({
    strategy: flow.strategy,
    options,
    storeKey: () => binding()?.key,
    // MSAL keeps its cache in the store; the lock makes processes that start together share one
    // sign-in (one device-code prompt).
    storeShares: "lock",
    bind: (binding) => network.bind(binding),
    onRefused: () => void (bypassCache = true),
    async onSignOut() {
      if (app) await flow.forget(await app);
    },
    async acquire() {
      network.lastError = undefined;
      const bypass = bypassCache;
      bypassCache = false;
      try {
        app ??= import("@azure/msal-node")
          .then((msal) => flow.createApp(msal, network, cachePlugin))
          .catch((error: unknown) => {
            app = undefined; // e.g. no secret yet: the next attempt starts again
            throw error;
          });
        const result = await flow.acquire(await app, bypass, network);
        if (!result?.accessToken) throw new TokenResponseError("The authority's answer held no access token.");
        rememberSecret(result.accessToken);
        return {
          accessToken: result.accessToken,
          tokenType: "Bearer",
          expiresAt: result.expiresOn?.getTime() ?? Date.now() + 3_600_000,
        };
      } catch (error) {
        if (flow.signal?.aborted && error === flow.signal.reason) throw error;
        throw fromMsalError(error, network, flow.secrets, flow.what);
      }
    },
  }).provider;
}
