/**
 * A client span per API call, around the retries: named by the operation's method and path
 * template, with HTTP's semantic conventions, and the trace context propagated (`traceparent`)
 * only to origins that may receive credentials. Token calls are left to their sign-in and renewal
 * spans. When `@opentelemetry/api` is missing, calls go straight through.
 */
import { isTokenCall, type CredentialBoundary } from "../boundary.js";
import type { FetchLike } from "../../core/fetch.js";
import { installTracing, type TracingLayer } from "../layers.js";
import {
  injectContext,
  inSpan,
  loadTracing,
  setHttpStatus,
  tracingLive,
  useTracingApi,
  annotateActiveSpan,
} from "./api.js";
import { retriesOf, templateOf } from "../../core/operation.js";

export function withTracing<F extends FetchLike>(send: F, boundary: CredentialBoundary): F {
  void loadTracing();
  const traced = (request: Request, init?: RequestInit): Promise<Response> => {
    if (!tracingLive() || isTokenCall(request)) return send(request, init);
    const url = new URL(request.url);
    // Never the path itself: it holds service names, ids, and in legacy revokes a token.
    const template = templateOf(request) ?? "(unmarked)";
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
        const response = await send(request, init);
        setHttpStatus(span, response.status, retriesOf(response));
        return response;
      },
      "client",
    );
  };
  return Object.assign(traced, send) as F;
}

/**
 * Installs tracing (the client spans above, and the sign-in, renewal and revoke spans) with
 * `@opentelemetry/api` from `source`: the Node entry's own import of the package, or the module an
 * app passes to `useOpenTelemetry`.
 */
export function enableTracing(source: () => Promise<typeof import("@opentelemetry/api")>): void {
  useTracingApi(source);
  installTracing({ wrap: withTracing, inSpan: inSpan as TracingLayer["inSpan"], annotateActiveSpan });
}
