/**
 * `mlserver-client/building-blocks`: the parts the client is made of, for those who compose a
 * strategy, a transport or a client of their own. Applications reach for `mlserver-client`; what
 * is here is stable too, and documented in docs/authentication.md ("Your own strategy").
 *
 * @example A strategy of your own on the shared token cycle (one renewal for any number of callers):
 * ```ts
 * import { TokenCycler, parseTokenResponse } from "mlserver-client/building-blocks";
 * const cycler = new TokenCycler({
 *   rotating: false,
 *   acquire: async () => parseTokenResponse(await (await fetch(tokenUrl, { method: "POST" })).json(), Date.now()),
 * });
 * const { accessToken } = await cycler.getToken();
 * ```
 *
 * @module
 */
export { createAuthenticatedClient } from "./client.js";
export { isLoopback, normalizeBaseUrl, parseAllowedOrigins, parseBaseUrl } from "./http/origins.js";
export { CredentialBoundary } from "./http/boundary.js";
export type { RequestSnapshot } from "./http/boundary.js";
export { createTransport } from "./http/pipeline.js";
export { TokenCycler } from "./auth/token-cycler.js";
export type { TokenCyclerOptions } from "./auth/token-cycler.js";
export { DEFAULT_TOKEN_LIFETIME_MS, parseTokenResponse } from "./auth/token-set.js";
export { tokenStoreKeyString } from "./auth/token-store.js";
export { retryAfterMs } from "./http/retry.js";
export { fetchTrusting, fetchWith } from "./http/dispatcher.js";
