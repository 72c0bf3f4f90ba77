/**
 * The frame the two Azure AD strategies share: msal-node loaded only when they first need a token,
 * MSAL's cache kept in a token store, and the token cycle around MSAL's flows. Their options are in
 * `msal-options.ts`, the network client in `msal-network.ts`, the error mapping in `msal-errors.ts`.
 */
import type { AuthenticationResult, ICachePlugin, TokenCacheContext } from "@azure/msal-node";
import { fromMsalError } from "./msal-errors.js";
import { MsalNetwork } from "./msal-network.js";
import type { AadCommonOptions } from "./msal-options.js";
import type { AuthProvider } from "../auth/provider.js";
import type { TokenCycleOptions } from "../auth/token-cycler.js";
import type { TokenSource } from "../auth/token-strategy.js";
import type { StoreBinding } from "../auth/token-store.js";
import { tokenStrategy } from "../auth/token-strategy.js";
import { TokenResponseError } from "../core/errors.js";
import { warnOnce } from "../core/log.js";
import { rememberSecret } from "../core/redact.js";

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
