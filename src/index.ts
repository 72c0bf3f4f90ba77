/**
 * mlserver-client: a typed client for Microsoft Machine Learning Server's REST API, with pluggable,
 * careful authentication.
 *
 * @example
 * ```ts
 * import { createMlServerClient, mlServerLogin } from "mlserver-client";
 * const client = createMlServerClient({ baseUrl: "https://mlserver.example.com:12800", auth: mlServerLogin({ username: "admin", password: process.env.MLSERVER_PASSWORD! }) });
 * const { data } = await client.GET("/status");
 * ```
 *
 * @module
 */
import type * as generated from "../generated/mlserver.js";
import { useDefaultFetch } from "./transport/default-fetch.js";
import { nodeFetch } from "./transport/node-fetch.js";
import { useTracingApi } from "./tracing.js";

// The Node entry: clients send through undici, and traces go to @opentelemetry/api when it is installed.
useDefaultFetch(nodeFetch);
useTracingApi(() => import("@opentelemetry/api"));

export { authMiddleware, createMlServerClient } from "./client.js";
export type { AuthMiddleware, MlServerClient, MlServerClientOptions } from "./client.js";
export { normalizeBaseUrl, parseBaseUrl } from "./auth/origins.js";
export * from "./errors.js";
export type { MaybePromise, AuthBinding, AuthContext, AuthOption, AuthProvider, AuthProviders, FetchLike } from "./auth/provider.js";
export type { AuthMiddlewareOptions } from "./auth/middleware.js";
export { isLoopback, parseAllowedOrigins } from "./auth/origins.js";
export { TokenCycler } from "./auth/token-cycler.js";
export type { TokenCycleOptions, TokenCyclerOptions } from "./auth/token-cycler.js";
export { parseTokenResponse, DEFAULT_TOKEN_LIFETIME_MS } from "./auth/token-set.js";
export type { TokenSet } from "./auth/token-set.js";
export { mlServerLogin } from "./strategies/ml-server-login.js";
export type { MlServerCredentials, MlServerLoginOptions, MlServerLoginProvider, MlServerTokens } from "./strategies/ml-server-login.js";
export { bearer } from "./strategies/bearer.js";
export type { BearerTokenResult } from "./strategies/bearer.js";
export { setDebugLog, fingerprint } from "./log.js";
export type { DebugSink } from "./log.js";
/** Every path of ML Server's core API, with its operations, as openapi-fetch's clients take them. */
export type paths = generated.paths;
/** The API's schemas (`components["schemas"]["ServiceDefinition"]`...), responses and request bodies. */
export type components = generated.components;
/** The API's operations by operationId, with their parameters, bodies and responses. */
export type operations = generated.operations;
export { operationSecurity, securitySchemes } from "../generated/mlserver.security.js";
export type { OperationSecurityMap, SecurityAlternative } from "./auth/security.js";
export { aadDeviceCode } from "./strategies/aad-device-code.js";
export type { AadDeviceCodeOptions, DeviceCodePrompt } from "./strategies/aad-device-code.js";
export { aadClientCredentials } from "./strategies/aad-client-credentials.js";
export type { AadClientCredentialsOptions, ClientCertificate } from "./strategies/aad-client-credentials.js";
export type { AadCommonOptions } from "./strategies/msal-support.js";
export { clientCredentials } from "./strategies/client-credentials.js";
export type { ClientCredentialsOptions } from "./strategies/client-credentials.js";
export { createTransport } from "./transport/index.js";
export type { Transport } from "./transport/index.js";
export { fetchTrusting, fetchWith } from "./transport/dispatcher.js";
export type { ProxyOptions, TransportOptions } from "./transport/dispatcher.js";
export { CredentialBoundary } from "./auth/boundary.js";
export type { RequestSnapshot } from "./auth/boundary.js";
export { httpBasic } from "./strategies/http-basic.js";
export type { HttpBasicOptions } from "./strategies/http-basic.js";
export { httpDigest } from "./strategies/http-digest.js";
export type { HttpDigestOptions } from "./strategies/http-digest.js";
export { customHeader } from "./strategies/custom-header.js";
export type { CustomHeaderOptions, ValueSource } from "./strategies/custom-header.js";
export { apiKey } from "./strategies/api-key.js";
export type { ApiKeyOptions } from "./strategies/api-key.js";
export { fromTokenCredential } from "./strategies/token-credential.js";
export type { AccessTokenLike, TokenCredentialLike } from "./strategies/token-credential.js";
export { createAuthenticatedClient } from "./client.js";
export { createServiceClient } from "./services.js";
export type { BatchProgress, ServiceClient, ServiceClientOptions, ServiceResult, ServiceSchemas } from "./services.js";
export { deleteService, publishFromSession, publishService, updateService } from "./publish.js";
export type { PublishedFromSession, PublishFromSessionOptions, PublishOptions } from "./publish.js";
export { memoryTokenStore, tokenStoreKeyString } from "./auth/token-store.js";
export type { StoredValue, TokenStore, TokenStoreKey, TokenStoreOptions } from "./auth/token-store.js";
export type { TokenSource } from "./auth/token-provider.js";
export { defaultCacheDirectory, fileTokenStore } from "./stores/file-token-store.js";
export type { FileTokenStoreOptions } from "./stores/file-token-store.js";
export type { EncryptionKey } from "./stores/sealing.js";
export { redisTokenStore } from "./stores/redis-token-store.js";
export type { RedisCommandClient, RedisSubscriberClient, RedisTokenStoreOptions } from "./stores/redis-token-store.js";
export { aadBrowser } from "./strategies/aad-browser.js";
export type { AadBrowserOptions, MsalAccountLike, MsalBrowserAppLike, MsalResultLike } from "./strategies/aad-browser.js";
export { sessionStorageTokenStore } from "./stores/web-storage-token-store.js";
export type { WebStorageLike, WebStorageTokenStoreOptions } from "./stores/web-storage-token-store.js";
export { useOpenTelemetry } from "./open-telemetry.js";
export type { OpenTelemetryApi } from "./open-telemetry.js";
export { retriesOf, retryAfterMs } from "./transport/retry.js";
export type { RetryOptions } from "./transport/retry.js";
