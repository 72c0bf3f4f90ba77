/**
 * OpenTelemetry traces, when `@opentelemetry/api` (an optional peer dependency) is installed: a
 * client span per API call and a span per sign-in, renewal and revoke. The API package is loaded on
 * first use, and never when it is missing or `tracing: false`; every span is built from safe parts
 * (a path template, never a URL or a query string; a token's fingerprint, never the token).
 */
type OtelApi = typeof import("@opentelemetry/api");
type Span = import("@opentelemetry/api").Span;
type Attributes = Record<string, string | number | boolean>;

const TRACER_NAME = "mlserver-client";
/** undefined: not tried yet; null: not installed (or it failed to load). */
let api: OtelApi | null | undefined;
let loading: Promise<void> | undefined;

/**
 * Where the API comes from, set by the entry point: on Node, `import("@opentelemetry/api")`; in the
 * browser build, nothing unless the application passes its own (`useOpenTelemetry`), since a
 * bundler would fail on an import of a package the app does not have.
 */
let importApi: () => Promise<OtelApi> = () => Promise.reject(new Error("no OpenTelemetry API given"));

/** Sets where `@opentelemetry/api` is loaded from (each entry point calls it, and `useOpenTelemetry`). */
export function useTracingApi(source: () => Promise<OtelApi>): void {
  importApi = source;
  // A source given after a failed load is tried at the next call.
  if (api === null) {
    api = undefined;
    loading = undefined;
  }
}

/** Starts loading `@opentelemetry/api`, once; a missing package is simply no tracing. */
export function loadTracing(): Promise<void> {
  loading ??= importApi().then(
    (module) => void (api = module),
    () => void (api = null),
  );
  return loading;
}

/** The API, if it is loaded and a tracer provider is registered (the default one is a no-op). */
function active(): OtelApi | undefined {
  return api ?? undefined;
}

/**
 * Runs `task` in a span named `name` (of `kind` client or internal), ending it with the outcome.
 * Without the API, `task` runs as it is.
 */
export async function inSpan<T>(
  name: string,
  attributes: Attributes,
  task: (span: Span | undefined) => Promise<T>,
  kind: "client" | "internal" = "internal",
): Promise<T> {
  // Token spans say how they ended; a client span's outcome is its status code.
  const outcome = kind === "internal";
  // Wait for a load a client started; never start one here (a token cycle used on its own).
  if (api === undefined && loading) await loading;
  const otel = active();
  if (!otel || !tracingLive()) return task(undefined);
  const tracer = otel.trace.getTracer(TRACER_NAME);
  const span = tracer.startSpan(name, {
    kind: kind === "client" ? otel.SpanKind.CLIENT : otel.SpanKind.INTERNAL,
    attributes,
  });
  // No SDK registered (the API's no-op provider): no span, nothing to propagate, no context work.
  if (!span.isRecording() && !otel.isSpanContextValid(span.spanContext())) return task(undefined);
  return otel.context.with(otel.trace.setSpan(otel.context.active(), span), async () => {
    try {
      const result = await task(span);
      if (outcome && span.isRecording()) span.setAttribute("mlserver_client.outcome", "success");
      return result;
    } catch (error) {
      if (span.isRecording()) {
        const code = (error as { code?: unknown }).code;
        span.setAttributes({
          ...(outcome && { "mlserver_client.outcome": "failure" }),
          "error.type": typeof code === "string" ? code : ((error as Error)?.name ?? "Error"),
        });
        span.setStatus({ code: otel.SpanStatusCode.ERROR });
      }
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Sets `traceparent` (and `tracestate`) for the active span on `headers`. */
export function injectContext(headers: Headers): void {
  const otel = active();
  if (!otel) return;
  otel.propagation.inject(otel.context.active(), headers, { set: (carrier, key, value) => carrier.set(key, value) });
}

/** Adds attributes to the span that is active now, if any is recording. */
export function annotateActiveSpan(attributes: Attributes): void {
  const span = active()?.trace.getActiveSpan();
  if (span?.isRecording()) span.setAttributes(attributes);
}

/** Marks `span` failed with an HTTP status (client spans: 4xx and 5xx are errors). */
export function setHttpStatus(span: Span | undefined, status: number, resends: number): void {
  if (!span?.isRecording()) return;
  span.setAttributes({ "http.response.status_code": status, "http.request.resend_count": resends });
  if (status >= 400) {
    span.setAttribute("error.type", String(status));
    span.setStatus({ code: active()!.SpanStatusCode.ERROR });
  }
}

/** The API's no-op provider, what the global provider delegates to until an SDK registers one. */
let noopProvider: unknown;

/**
 * Whether spans can be made now: the API is loaded and an SDK registered a tracer provider. A
 * cheap test, so that calls cost nothing when the package is missing or no SDK is registered.
 */
export function tracingLive(): boolean {
  if (!api) return api === undefined && loading !== undefined;
  noopProvider ??= new api.ProxyTracerProvider().getDelegate();
  return (api.trace.getTracerProvider() as InstanceType<OtelApi["ProxyTracerProvider"]>).getDelegate() !== noopProvider;
}
