/**
 * What both entry points export, listed one by one and grouped by area: the client, the strategies
 * and stores that work on any platform, retries and tracing, the services helpers and the errors.
 * The building blocks under them are `mlserver-client/building-blocks` (`building-blocks.ts`). `index.ts` (Node) adds
 * the Node-only strategies and stores;
 * `browser.ts` adds stand-ins for them that say what to use instead. `test/unit/api-report.test.ts`
 * keeps every entry's surface in `api/`, so that any change to it shows in review.
 *
 * @module
 */
import type * as generated from "../generated/mlserver.js";

// The client
export { authMiddleware, createMlServerClient } from "./client.js";
export type { AuthMiddleware, MlServerClient, MlServerClientOptions } from "./client.js";
export type { AuthMiddlewareOptions } from "./auth/middleware.js";
export { operationSecurity, securitySchemes } from "../generated/mlserver.security.js";
export type { OperationSecurityMap, SecurityAlternative } from "./auth/security.js";
/** Every path of ML Server's core API, with its operations, as openapi-fetch's clients take them. */
export type paths = generated.paths;
/** The API's schemas (`components["schemas"]["ServiceDefinition"]`...), responses and request bodies. */
export type components = generated.components;
/** The API's operations by operationId, with their parameters, bodies and responses. */
export type operations = generated.operations;

// Authentication: the interface every strategy implements, and the strategies of every platform
export type { AuthBinding, AuthContext, AuthOption, AuthProvider, AuthProviders } from "./auth/provider.js";
export type { TokenSource } from "./auth/token-strategy.js";
export type { FetchLike, MaybePromise } from "./core/fetch.js";
export { mlServerLogin } from "./strategies/ml-server-login.js";
export type {
  MlServerCredentials,
  MlServerLoginOptions,
  MlServerLoginProvider,
  MlServerTokens,
} from "./strategies/ml-server-login.js";
export { bearer } from "./strategies/bearer.js";
export type { BearerTokenResult } from "./strategies/bearer.js";
export { httpBasic } from "./strategies/http-basic.js";
export type { HttpBasicOptions } from "./strategies/http-basic.js";
export { customHeader } from "./strategies/custom-header.js";
export type { CustomHeaderOptions, ValueSource } from "./strategies/custom-header.js";
export { apiKey } from "./strategies/api-key.js";
export type { ApiKeyOptions } from "./strategies/api-key.js";
export { fromTokenCredential } from "./strategies/token-credential.js";
export type { AccessTokenLike, TokenCredentialLike } from "./strategies/token-credential.js";
export { aadBrowser } from "./strategies/aad-browser.js";
export type {
  AadBrowserOptions,
  MsalAccountLike,
  MsalBrowserAppLike,
  MsalResultLike,
} from "./strategies/aad-browser.js";

// Token stores
export type { StoredValue, TokenStore, TokenStoreKey, TokenStoreOptions } from "./auth/token-store.js";
export { memoryTokenStore } from "./stores/memory-token-store.js";
export { sessionStorageTokenStore } from "./stores/web-storage-token-store.js";
export type { WebStorageLike, WebStorageTokenStoreOptions } from "./stores/web-storage-token-store.js";

// Retries, tracing, logging
export { retries } from "./http/retry.js";
export type { RetryOptions } from "./http/retry.js";
export { retriesOf } from "./http/exchange.js";
export type { Retries, SpanAttributes, SpanRecorder, Tracing } from "./http/layers.js";
export { openTelemetry } from "./http/tracing/open-telemetry.js";
export type { OpenTelemetryApi } from "./http/tracing/open-telemetry.js";
export { fingerprint, setDebugLog } from "./core/log.js";
export type { DebugSink } from "./core/log.js";

// Web services, sessions and pools
export { createServiceClient } from "./services.js";
export type {
  BatchProgress,
  RunBatchOptions,
  ServiceClient,
  ServiceClientOptions,
  ServiceName,
  ServiceResult,
  ServiceSchemas,
} from "./services.js";
export {
  deleteService,
  getService,
  listServices,
  publishFromSession,
  publishRealtimeService,
  publishService,
  updateRealtimeService,
  updateService,
} from "./publish.js";
export type {
  PublishedFromSession,
  PublishFromSessionOptions,
  PublishOptions,
  RealtimeServiceOptions,
  ServiceFilter,
} from "./publish.js";
export { deleteServicePool, servicePoolStatus, setServicePool } from "./pools.js";
export type { ServicePoolSizes, ServicePoolStatus } from "./pools.js";
export { getSessionFile, getWorkspaceObject, putSessionFiles, putWorkspaceObject, remoteExecute } from "./remote.js";
export { checkFileName } from "./file-names.js";
export type { RemoteExecuteOptions, RemoteExecution } from "./remote.js";
export { createWorkQueue } from "./work-queue.js";
export type { QueuedTask, WorkQueue, WorkQueueCounts, WorkQueueOptions } from "./work-queue.js";

// Errors: one family, each with a stable `code`
export {
  ApiError,
  AuthenticationError,
  AuthorizationDeclinedError,
  DeviceCodeExpiredError,
  ForbiddenError,
  InsecureTransportError,
  InvalidCredentialError,
  InvalidOptionError,
  MissingCredentialsError,
  MissingDependencyError,
  MlServerClientError,
  NetworkError,
  NotFoundError,
  OriginNotAllowedError,
  RedirectRefusedError,
  ServiceExecutionError,
  RemoteExecutionError,
  BatchCancelledError,
  ServiceExistsError,
  SignedOutError,
  TokenEndpointError,
  TokenRefreshError,
  TokenResponseError,
  TokenStoreError,
  UnsafeFileNameError,
  UnsupportedPlatformError,
} from "./core/errors.js";
export type { ErrorCode, ErrorDetails } from "./core/errors.js";

// Building blocks, for strategies and clients of your own
// Types that the strategies' options and results use; the building blocks themselves are in
// `mlserver-client/building-blocks`.
export type { TokenCycleOptions } from "./auth/token-cycler.js";
export type { TokenSet } from "./auth/token-set.js";
