/**
 * A client span per API call, around the retries: named by the operation's method and path
 * template, with HTTP's semantic conventions, and the trace context propagated (`traceparent`)
 * only to origins that may receive credentials. Token calls are left to their sign-in and renewal
 * spans. When `@opentelemetry/api` is missing, calls go straight through.
 */
import type { CredentialBoundary } from "../boundary.js";
import { tracingLayer, type TracingLayer } from "../layers.js";
import type { Policy } from "../policy.js";
import { OpenTelemetrySpans } from "./api.js";

/** The client-span policy: one span per API call, around its retries. */
export function clientSpanPolicy(otel: OpenTelemetrySpans, boundary: CredentialBoundary): Policy {
  void otel.load();
  return {
    name: "clientSpan",
    send(exchange, next) {
      if (!otel.live() || exchange.tokenCall) return next(exchange);
      const { request } = exchange;
      const url = new URL(request.url);
      // Never the path itself: it holds service names, ids, and in legacy revokes a token.
      const template = exchange.operation ?? "(unmarked)";
      const attributes = {
        "http.request.method": request.method,
        "url.template": template,
        "server.address": url.hostname,
        "server.port": Number(url.port || (url.protocol === "https:" ? 443 : 80)),
      };
      const call = async (span: Parameters<OpenTelemetrySpans["setHttpStatus"]>[0]) => {
        if (span && boundary.mayReceive(url)) otel.inject(request.headers);
        const response = await next(exchange);
        otel.setHttpStatus(span, response.status, exchange.retries);
        return response;
      };
      return otel.span(`${request.method} ${template}`, attributes, call, "client");
    },
  };
}

/**
 * Tracing (the client spans above, and the sign-in, renewal and revoke spans) with
 * `@opentelemetry/api` from `source`: the Node platform's own import of the package, or the module
 * an app passes to `openTelemetry`.
 */
export function openTelemetryTracing(source: () => Promise<typeof import("@opentelemetry/api")>): TracingLayer {
  const otel = new OpenTelemetrySpans(source);
  return tracingLayer({
    clientSpans: (boundary) => clientSpanPolicy(otel, boundary),
    start: () => void otel.load(),
    inSpan: (name, attributes, task) => otel.inSpan(name, attributes, task),
    annotate: (attributes) => otel.annotate(attributes),
  });
}
