/**
 * The optional layers: retries and tracing. The Node entry installs both; the browser build
 * installs them only when the app asks (`useRetries()`, `useOpenTelemetry(otel)`), so that a page
 * that never asks ships neither. Code that makes spans (sign-in, renewal, revoke) calls through
 * here, and costs nothing while no tracing is installed.
 */
import type { CredentialBoundary } from "./boundary.js";
import type { Policy } from "./policy.js";
import { fingerprint } from "../core/log.js";

type Attributes = Record<string, string | number | boolean>;
type SpanLike = object;

/** What the tracing layer provides once installed (see `tracing/client-spans.ts`). */
export interface TracingLayer {
  policy(boundary: CredentialBoundary): Policy;
  inSpan<T>(
    name: string,
    attributes: Attributes,
    task: (span: SpanLike | undefined) => Promise<T>,
    kind?: "client" | "internal",
  ): Promise<T>;
  annotateActiveSpan(attributes: Attributes): void;
}

/** The retry layer, once installed (see `retry.ts`); `options` are the client's `retry`. */
export type RetryLayer = (options: object | undefined) => Policy;

let tracing: TracingLayer | undefined;
let retries: RetryLayer | undefined;

export function installTracing(layer: TracingLayer): void {
  tracing = layer;
}

export function installRetries(layer: RetryLayer): void {
  retries = layer;
}

/** The installed layers (undefined when an entry point left one out). */
export function installedLayers(): { tracing: TracingLayer | undefined; retries: RetryLayer | undefined } {
  return { tracing, retries };
}

/** Runs `task` in a span when tracing is installed, else as it is. */
export function inSpan<T>(name: string, attributes: Attributes, task: () => Promise<T>): Promise<T> {
  return tracing ? tracing.inSpan(name, attributes, task) : task();
}

/** Adds attributes to the active span, when tracing is installed and one is recording. */
export function annotateActiveSpan(attributes: Attributes): void {
  tracing?.annotateActiveSpan(attributes);
}

/** Attributes naming a token without revealing it. */
export function tokenAttributes(accessToken: string | undefined): Attributes {
  return accessToken ? { "mlserver_client.token.fingerprint": fingerprint(accessToken) } : {};
}
