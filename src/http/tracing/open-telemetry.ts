/**
 * `useOpenTelemetry`: hands the client the app's own `@opentelemetry/api`. Its own module, so that
 * the package's type declarations never name `@opentelemetry/api`, an optional peer.
 */
import { enableTracing } from "./client-spans.js";

/** `@opentelemetry/api` as the client takes it: pass the module itself (`import * as otel`). */
export interface OpenTelemetryApi {
  trace: object;
  context: object;
  propagation: object;
}

/**
 * Gives the client the app's own `@opentelemetry/api`, and with it tracing: needed in the browser
 * build, which never imports the package itself (so that apps without it still bundle) and ships
 * no tracing code unless this is called; on Node the package is found alone.
 *
 * @example
 * ```ts
 * import * as otel from "@opentelemetry/api";
 * useOpenTelemetry(otel);
 * ```
 */
export function useOpenTelemetry(otel: OpenTelemetryApi): void {
  enableTracing(() => Promise.resolve(otel as never));
}
