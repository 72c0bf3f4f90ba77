/**
 * `openTelemetry`: tracing with the app's own `@opentelemetry/api`. Its own module, so that the
 * package's type declarations never name `@opentelemetry/api`, an optional peer.
 */
import type { Tracing } from "../layers.js";
import { openTelemetryTracing } from "./client-spans.js";

/** `@opentelemetry/api` as the client takes it: pass the module itself (`import * as otel`). */
export interface OpenTelemetryApi {
  trace: object;
  context: object;
  propagation: object;
}

/**
 * Tracing through the app's own `@opentelemetry/api`, for a client's `tracing` option: needed in
 * the browser build, which never imports the package itself (so that apps without it still bundle)
 * and ships no tracing code unless this is called. On Node, `tracing: true` (the default) finds the
 * package alone.
 *
 * @example
 * ```ts
 * import * as otel from "@opentelemetry/api";
 * const client = createMlServerClient({ baseUrl, auth, tracing: openTelemetry(otel) });
 * ```
 */
export function openTelemetry(otel: OpenTelemetryApi): Tracing {
  return openTelemetryTracing(() => Promise.resolve(otel as typeof import("@opentelemetry/api")));
}
