/**
 * Everything the CLI takes from the library, in the one module its commands import when they need
 * it: the package's own exports, and the few internals the CLI also uses. One dynamic import keeps
 * the bundle's split simple, so that `import "mlserver-client"` loads few files.
 */
export * from "../index.js";
export { apiError } from "../core/errors.js";
export { scrubKnown } from "../core/redact.js";
export { isLoopback } from "../http/origins.js";
export { writePrivateFile } from "../stores/private-file.js";
