/**
 * Redirects, followed here rather than by the fetch underneath, so that every hop passes the
 * credential check again: a hop to an origin that may not receive credentials carries none (no
 * credential header, no credential query parameter, no trace context); a token or revoke call is
 * never followed to another origin; 307/308 keep the method and body, 301/302 of a POST and 303
 * become a bodiless GET; more than 20 hops is a loop (the Fetch standard's limit).
 */
import type { CredentialBoundary } from "./boundary.js";
import { discardBody, givenSignal, hasBody } from "./bodies.js";
import type { Exchange } from "./exchange.js";
import type { Next, Policy } from "./policy.js";
import { RedirectRefusedError } from "../core/errors.js";

const MAX_REDIRECTS = 20;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Headers that describe a body, dropped with it when a redirect turns a call into a GET. */
const BODY_HEADERS = ["content-type", "content-length", "content-encoding", "content-language", "content-location"];

export function redirectPolicy(boundary: CredentialBoundary): Policy {
  /** Follows the hops after a first answer that is a redirect; `hop` counts them. */
  async function follow(exchange: Exchange, next: Next, first: Response): Promise<Response> {
    let response = first;
    for (let hop = 0; ; hop++) {
      const location = REDIRECT_STATUSES.has(response.status) ? response.headers.get("location") : null;
      if (location === null) return response;
      discardBody(response);
      exchange.request = await nextHop(exchange, hop, response.status, location, boundary);
      response = await next(exchange);
    }
  }

  return {
    name: "redirect",
    send(exchange, next) {
      const { request } = exchange;
      if (request.redirect !== "follow") return next(exchange);
      // A 307/308 sends the body again, which the first send consumes.
      const holds = hasBody(request);
      if (holds) exchange.hold(request);
      // The common case, an answer that is no redirect, costs one `then`.
      const answered = next(exchange).then((response) =>
        REDIRECT_STATUSES.has(response.status) ? follow(exchange, next, response) : response,
      );
      return holds ? answered.finally(() => exchange.letGo()) : answered;
    },
  };
}

/** The request for the next hop, by the Fetch standard's method rules and the boundary's. */
async function nextHop(
  exchange: Exchange,
  hop: number,
  status: number,
  location: string,
  boundary: CredentialBoundary,
): Promise<Request> {
  const { request } = exchange;
  const url = new URL(request.url);
  const call = `${request.method} ${url.origin}`;
  let target: URL | undefined;
  try {
    target = new URL(location, url);
  } catch {
    target = undefined;
  }
  if (!target || (target.protocol !== "https:" && target.protocol !== "http:")) {
    throw new RedirectRefusedError(call, status, undefined, "the Location is not an http(s) URL.");
  }
  if (hop >= MAX_REDIRECTS)
    throw new RedirectRefusedError(call, status, target, `more than ${MAX_REDIRECTS} redirects in a row.`);
  if (exchange.tokenCall && target.origin !== url.origin) {
    throw new RedirectRefusedError(
      call,
      status,
      target,
      "token and revoke calls go only to the endpoint they were configured with. Check the server address " +
        "(baseUrl, tokenUrl or authority).",
    );
  }
  const toGet =
    status === 303 ? request.method !== "HEAD" : (status === 301 || status === 302) && request.method === "POST";
  let headers = request.headers;
  if (toGet) {
    headers = new Headers(headers);
    for (const name of BODY_HEADERS) headers.delete(name);
  }
  if (!boundary.mayReceive(target)) {
    headers = boundary.withoutCredentials(headers);
    headers.delete("traceparent");
    headers.delete("tracestate");
    target = boundary.urlWithoutCredentials(target);
  }
  const body = toGet ? null : await exchange.bodyAgain();
  const signal = givenSignal(request);
  // The same kind of request as the first hop (a light one on the Node transport).
  const Make = request.constructor as typeof Request;
  return exchange.carry(
    new Make(target, {
      method: toGet ? (request.method === "HEAD" ? "HEAD" : "GET") : request.method,
      headers,
      body,
      ...(signal && { signal }),
      redirect: "follow",
    }),
  );
}
