/**
 * `useOpenTelemetry`: hands the client the app's own `@opentelemetry/api`. Its own module, so that
 * the package's type declarations never name `@opentelemetry/api`, an optional peer.
 */
import { useTracingApi } from "./tracing.js";

/** `@opentelemetry/api` as the client takes it: pass the module itself (`import * as otel`). */
export interface OpenTelemetryApi {
  trace: object;
  context: object;
  propagation: object;
}

/**
 * Gives the client the app's own `@opentelemetry/api`: needed in the browser build, which never
 * imports the package itself (so that apps without it still bundle); on Node it is found alone.
 *
 * @example
 * ```ts
 * import * as otel from "@opentelemetry/api";
 * useOpenTelemetry(otel);
 * ```
 */
export function useOpenTelemetry(otel: OpenTelemetryApi): void {
  useTracingApi(() => Promise.resolve(otel as never));
}
