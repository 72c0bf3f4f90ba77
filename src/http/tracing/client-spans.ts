/**
 * A client span per API call, around the retries: named by the operation's method and path
 * template, with HTTP's semantic conventions, and the trace context propagated (`traceparent`)
 * only to origins that may receive credentials. Token calls are left to their sign-in and renewal
 * spans. When `@opentelemetry/api` is missing, calls go straight through.
 */
import type { CredentialBoundary } from "../boundary.js";
import { installTracing, type TracingLayer } from "../layers.js";
import type { Policy } from "../policy.js";
import {
  injectContext,
  inSpan,
  loadTracing,
  setHttpStatus,
  tracingLive,
  useTracingApi,
  annotateActiveSpan,
} from "./api.js";

/** The client-span policy: one span per API call, around its retries. */
export function clientSpanPolicy(boundary: CredentialBoundary): Policy {
  void loadTracing();
  return {
    name: "clientSpan",
    send(exchange, next) {
      if (!tracingLive() || exchange.tokenCall) return next(exchange);
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
      return inSpan(
        `${request.method} ${template}`,
        attributes,
        async (span) => {
          if (span && boundary.mayReceive(url)) injectContext(request.headers);
          const response = await next(exchange);
          setHttpStatus(span, response.status, exchange.retries);
          return response;
        },
        "client",
      );
    },
  };
}

/**
 * Installs tracing (the client spans above, and the sign-in, renewal and revoke spans) with
 * `@opentelemetry/api` from `source`: the Node entry's own import of the package, or the module an
 * app passes to `useOpenTelemetry`.
 */
export function enableTracing(source: () => Promise<typeof import("@opentelemetry/api")>): void {
  useTracingApi(source);
  installTracing({ policy: clientSpanPolicy, inSpan: inSpan as TracingLayer["inSpan"], annotateActiveSpan });
}
