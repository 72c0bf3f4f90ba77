/**
 * OpenTelemetry traces, when `@opentelemetry/api` (an optional peer dependency) is installed: a
 * client span per API call and a span per sign-in, renewal and revoke. The API package is loaded on
 * first use, and never when it is missing or `tracing: false`; every span is built from safe parts
 * (a path template, never a URL or a query string; a token's fingerprint, never the token).
 */
import type { SpanAttributes, SpanRecorder } from "../layers.js";

type OtelApi = typeof import("@opentelemetry/api");
type Span = import("@opentelemetry/api").Span;

const TRACER_NAME = "mlserver-client";

/**
 * Spans through one source of `@opentelemetry/api`: on Node, `import("@opentelemetry/api")`; in the
 * browser build, the module the app passes to `openTelemetry(otel)`, since a bundler would fail on
 * an import of a package the app does not have.
 */
export class OpenTelemetrySpans implements SpanRecorder {
  readonly #source: () => Promise<OtelApi>;
  /** undefined: not tried yet; null: not installed (or it failed to load). */
  #api: OtelApi | null | undefined;
  #loading: Promise<void> | undefined;
  /** The API's no-op provider, what the global provider delegates to until an SDK registers one. */
  #noopProvider: unknown;

  constructor(source: () => Promise<OtelApi>) {
    this.#source = source;
  }

  /** Starts loading `@opentelemetry/api`, once; a missing package is simply no tracing. */
  load(): Promise<void> {
    this.#loading ??= this.#source().then(
      (module) => void (this.#api = module),
      () => void (this.#api = null),
    );
    return this.#loading;
  }

  /**
   * Whether spans can be made now: the API is loaded and an SDK registered a tracer provider. A
   * cheap test, so that calls cost nothing when the package is missing or no SDK is registered.
   */
  live(): boolean {
    const api = this.#api;
    if (!api) return api === undefined && this.#loading !== undefined;
    this.#noopProvider ??= new api.ProxyTracerProvider().getDelegate();
    const provider = api.trace.getTracerProvider() as InstanceType<OtelApi["ProxyTracerProvider"]>;
    return provider.getDelegate() !== this.#noopProvider;
  }

  inSpan<T>(name: string, attributes: SpanAttributes, task: () => Promise<T>): Promise<T> {
    return this.span(name, attributes, task, "internal");
  }

  /**
   * Runs `task` in a span named `name` (of `kind` client or internal), ending it with the outcome.
   * Without the API, `task` runs as it is.
   */
  async span<T>(
    name: string,
    attributes: SpanAttributes,
    task: (span: Span | undefined) => Promise<T>,
    kind: "client" | "internal",
  ): Promise<T> {
    // Token spans say how they ended; a client span's outcome is its status code.
    const outcome = kind === "internal";
    // Wait for a load a client started; never start one here.
    if (this.#api === undefined && this.#loading) await this.#loading;
    const otel = this.#api;
    if (!otel || !this.live()) return task(undefined);
    const span = otel.trace.getTracer(TRACER_NAME).startSpan(name, {
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
  inject(headers: Headers): void {
    const otel = this.#api;
    if (!otel) return;
    otel.propagation.inject(otel.context.active(), headers, { set: (carrier, key, value) => carrier.set(key, value) });
  }

  annotate(attributes: SpanAttributes): void {
    const span = this.#api?.trace.getActiveSpan();
    if (span?.isRecording()) span.setAttributes(attributes);
  }

  /** Marks `span` failed with an HTTP status (client spans: 4xx and 5xx are errors). */
  setHttpStatus(span: Span | undefined, status: number, resends: number): void {
    if (!span?.isRecording()) return;
    span.setAttributes({ "http.response.status_code": status, "http.request.resend_count": resends });
    if (status >= 400) {
      span.setAttribute("error.type", String(status));
      span.setStatus({ code: this.#api!.SpanStatusCode.ERROR });
    }
  }
}
