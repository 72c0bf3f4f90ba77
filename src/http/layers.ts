/**
 * The optional layers of a client's pipeline, retries and tracing, as values a client holds: its
 * options choose them (`retry`, `tracing`) and the build's platform gives the defaults (on Node
 * both, in the browser build neither, so that a page that never asks ships neither). Nothing here
 * is module state: two clients with different layers never see each other's.
 */
import type { CredentialBoundary } from "./boundary.js";
import type { Policy } from "./policy.js";
import { fingerprint } from "../core/log.js";

/** Marks the values {@link retries} and {@link openTelemetry} make, which a client's options take. */
const LAYER = Symbol("mlserver-client.layer");

/** Retries as a client's `retry` option takes them, made by {@link retries}. */
export interface Retries {
  readonly [LAYER]: "retries";
}

/** Tracing as a client's `tracing` option takes it, made by {@link openTelemetry}. */
export interface Tracing {
  readonly [LAYER]: "tracing";
}

/** A span's attributes: names and plain values, never a secret (tokens appear as fingerprints). */
export type SpanAttributes = Record<string, string | number | boolean>;

/**
 * Records the spans of token work (sign-in, renewal, revoke) in a client's tracing; a client gives
 * it to its strategies through {@link AuthBinding}'s `spans`.
 */
export interface SpanRecorder {
  /** Runs `task` in a span named `name`, ended with its outcome. */
  inSpan<T>(name: string, attributes: SpanAttributes, task: () => Promise<T>): Promise<T>;
  /** Adds attributes to the span that is active now, if one is recording. */
  annotate(attributes: SpanAttributes): void;
}

/** What {@link Retries} are inside: the policy a client's pipeline puts in. */
export interface RetryLayer extends Retries {
  policy(): Policy;
}

/** What {@link Tracing} is inside: the client spans, and the token spans' recorder. */
export interface TracingLayer extends Tracing, SpanRecorder {
  clientSpans(boundary: CredentialBoundary): Policy;
  /** Starts loading what the spans need (a client does, never a token cycle on its own). */
  start(): void;
}

export function retryLayer(policy: () => Policy): RetryLayer {
  return { [LAYER]: "retries", policy };
}

export function tracingLayer(parts: Omit<TracingLayer, typeof LAYER>): TracingLayer {
  return { [LAYER]: "tracing", ...parts };
}

/** The layer of `kind` that `value` is, if it is one (rather than, say, plain retry options). */
export function layerOf<K extends "retries" | "tracing">(
  value: unknown,
  kind: K,
): (K extends "retries" ? RetryLayer : TracingLayer) | undefined {
  return (value as { [LAYER]?: unknown } | undefined)?.[LAYER] === kind ? (value as never) : undefined;
}

/** No spans: what a strategy records into until a client with tracing binds it. */
export const NO_SPANS: SpanRecorder = { inSpan: (_name, _attributes, task) => task(), annotate() {} };

/** Attributes naming a token without revealing it. */
export function tokenAttributes(accessToken: string | undefined): SpanAttributes {
  return accessToken ? { "mlserver_client.token.fingerprint": fingerprint(accessToken) } : {};
}
