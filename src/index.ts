export { createMlServerClient, parseBaseUrl } from "./client.js";
export type { MlServerClient, MlServerClientOptions } from "./client.js";
export * from "./errors.js";
export type { paths, components, operations } from "../generated/mlserver.js";
export { operationSecurity, securitySchemes } from "../generated/mlserver.security.js";
