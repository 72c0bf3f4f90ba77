/**
 * The browser build's platform: clients send through the page's fetch, and retry or trace only
 * when their options pass `retries()` or `openTelemetry(otel)`, so that a page that never asks
 * ships neither.
 */
import { browserFetch } from "./global-fetch.js";
import type { Platform } from "./platform.js";

export const platform: Platform = { sender: browserFetch };
