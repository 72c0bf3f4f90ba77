/**
 * A client span per API call, around the retries: named by the operation's method and path
 * template, with HTTP's semantic conventions, and the trace context propagated (`traceparent`)
 * only to origins that may receive credentials. Token calls are left to their sign-in and renewal
 * spans. When `@opentelemetry/api` is missing, calls go straight through.
 */
import { isTokenCall, type CredentialBoundary } from "../auth/boundary.js";
import type { FetchLike } from "../auth/provider.js";
import { injectContext, inSpan, loadTracing, setHttpStatus, tracingLive } from "../tracing.js";
import { templateOf } from "../operation.js";
import { retriesOf } from "./retry.js";

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
    return inSpan(`${request.method} ${template}`, attributes, async (span) => {
      if (span && boundary.mayReceive(url)) injectContext(request.headers);
      const response = await send(request, init);
      setHttpStatus(span, response.status, retriesOf(response));
      return response;
    }, "client");
  };
  return Object.assign(traced, send) as F;
}
