/**
 * The Node build's platform: clients send through undici, retry, and trace to
 * `@opentelemetry/api` when it is installed (loaded at a client's first call, never before).
 */
import { nodeFetch } from "./node-fetch.js";
import type { Platform } from "./platform.js";
import { retryPolicy } from "./retry.js";
import { openTelemetryTracing } from "./tracing/client-spans.js";

export const platform: Platform = {
  sender: nodeFetch,
  retryPolicy,
  tracing: openTelemetryTracing(() => import("@opentelemetry/api")),
};
