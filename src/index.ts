/**
 * mlserver-client: a typed client for Microsoft Machine Learning Server's REST API, with pluggable,
 * careful authentication.
 *
 * @example
 * ```ts
 * import { createMlServerClient, mlServerLogin } from "mlserver-client";
 * const client = createMlServerClient({
 *   baseUrl: "https://mlserver.example.com:12800",
 *   auth: mlServerLogin({ username: "admin", password: process.env.MLSERVER_PASSWORD! }),
 * });
 * const { data } = await client.GET("/status");
 * ```
 *
 * @module
 */
export * from "./portable.js";

// Node only (the browser build has stand-ins for them).
export { aadDeviceCode } from "./strategies/aad-device-code.js";
export type { AadDeviceCodeOptions, DeviceCodePrompt } from "./strategies/aad-device-code.js";
export { aadClientCredentials } from "./strategies/aad-client-credentials.js";
export type { AadClientCredentialsOptions, ClientCertificate } from "./strategies/aad-client-credentials.js";
export type { AadCommonOptions } from "./strategies/msal-options.js";
export { clientCredentials } from "./strategies/client-credentials.js";
export type { ClientCredentialsOptions } from "./strategies/client-credentials.js";
export type { ProxyOptions, TransportOptions } from "./http/dispatcher.js";
export { httpDigest } from "./strategies/http-digest.js";
export type { HttpDigestOptions } from "./strategies/http-digest.js";
export { defaultCacheDirectory, fileTokenStore } from "./stores/file-token-store.js";
export type { FileTokenStoreOptions } from "./stores/file-token-store.js";
export type { EncryptionKey } from "./stores/sealing.js";
export { redisTokenStore } from "./stores/redis-token-store.js";
export { saveServerFiles } from "./server-files.js";
export type {
  RedisClusterCommandClient,
  RedisCommandClient,
  RedisSentinelCommandClient,
  RedisSubscriberClient,
  RedisTokenStoreOptions,
} from "./stores/redis-token-store.js";
