/**
 * The one place requests leave. Every request the library sends (API calls, 401 resends, token and
 * revoke calls) passes through a transport, which checks the request actually sent, not the one a
 * middleware saw, and follows redirects itself by the same rules as the first hop.
 */
import { CredentialBoundary, asTokenCall, isTokenCall } from "./boundary.js";
import { assertSecureTransport } from "./origins.js";
import type { FetchLike } from "../core/fetch.js";
import { discardBody, givenSignal, hasBody } from "../core/bodies.js";
import {
  InvalidOptionError,
  MlServerClientError,
  NetworkError,
  RedirectRefusedError,
  systemReason,
} from "../core/errors.js";
import { scrub } from "../core/redact.js";

// The Node dispatchers (undici, TLS) are not re-exported here: this module is in the browser build.

/** More hops than this is a loop (the fetch standard's limit). */
const MAX_REDIRECTS = 20;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * A fetch that enforces a {@link CredentialBoundary}; `boundary` is what it enforces.
 *
 * @group Building blocks
 */
export interface Transport extends FetchLike {
  readonly boundary: CredentialBoundary;
}

/**
 * Wraps `base` so that:
 * - a request carrying a credential goes only to an origin the boundary allows, and never over
 *   plain HTTP except to loopback (checked on the request as sent, so a middleware that rewrites the
 *   URL afterwards cannot redirect a token);
 * - redirects are followed here, not by `base`: a hop to an origin that may not receive credentials
 *   carries none (no credential header, no credential query parameter); a token or revoke call is
 *   never followed to another origin; 307/308 keep the method and body, 301/302 of a POST and 303
 *   become a bodiless GET;
 * - a request that gets no answer throws a {@link NetworkError} (`ERR_NETWORK`) with the original
 *   error as its cause; an abort passes through as it is.
 *
 * @example
 * ```ts
 * const boundary = new CredentialBoundary(["https://mlserver.example.com:12800"], false);
 * const send = createTransport(boundary, globalThis.fetch);
 * const client = createClient<paths>({ baseUrl: "https://mlserver.example.com:12800", fetch: send });
 * ```
 *
 * @group Building blocks
 */
export function createTransport(boundary: CredentialBoundary, base: FetchLike = globalThis.fetch): Transport {
  // The base fetch must not follow redirects itself: the loop below does, with its checks. Ours
  // never does; Node's global fetch is told so in init (cheaper than a new Request); any other is
  // told so on the request itself, which no fetch can overlook.
  const ownsRedirects = (base as { followsNoRedirects?: boolean }).followsNoRedirects === true;
  const honoursInit = !ownsRedirects && base === globalThis.fetch;
  const transport = async (input: Request, init?: RequestInit): Promise<Response> => {
    let request = input;
    const tokenCall = isTokenCall(input);
    const follow = input.redirect === "follow";
    const manualByInit = follow && honoursInit;
    const sendInit = manualByInit ? { ...init, redirect: "manual" as const } : init;
    for (let hop = 0; ; hop++) {
      try {
        if (tokenCall) assertSecureTransport(new URL(request.url), boundary.allowInsecureHttp);
        else if (boundary.carriesCredentials(request)) boundary.assertMayReceive(request.url);
      } catch (error) {
        discardBody(request);
        throw error;
      }
      // A 307/308 resends the body, which the first send consumes: keep a copy until the answer.
      const replay = follow && hasBody(request) ? request.clone() : undefined;
      const response = await sendOnce(
        base,
        follow && !ownsRedirects && !manualByInit ? new Request(request, { redirect: "manual" }) : request,
        sendInit,
      );
      if (response.redirected) {
        // A fetch that follows redirects whatever the request says took hops nobody checked.
        discardBody(response);
        throw new InvalidOptionError(
          "The fetch given to the client followed a redirect itself, though the request said redirect: " +
            '"manual"; use a fetch that honours the request\'s redirect mode.',
        );
      }
      const location = follow && REDIRECT_STATUSES.has(response.status) ? response.headers.get("location") : null;
      if (location === null) {
        if (replay) discardBody(replay);
        return response;
      }
      discardBody(response);
      const url = new URL(request.url);
      const call = `${request.method} ${url.origin}`;
      let target: URL | undefined;
      try {
        target = new URL(location, url);
      } catch {
        target = undefined;
      }
      if (!target || (target.protocol !== "https:" && target.protocol !== "http:")) {
        throw new RedirectRefusedError(call, response.status, undefined, "the Location is not an http(s) URL.");
      }
      if (hop >= MAX_REDIRECTS)
        throw new RedirectRefusedError(call, response.status, target, `more than ${MAX_REDIRECTS} redirects in a row.`);
      if (tokenCall && target.origin !== url.origin) {
        throw new RedirectRefusedError(
          call,
          response.status,
          target,
          "token and revoke calls go only to the endpoint they were configured with. Check the server address " +
            "(baseUrl, tokenUrl or authority).",
        );
      }
      request = nextHop(request, replay, response.status, target, boundary);
      if (tokenCall) asTokenCall(request);
    }
  };
  return Object.assign(transport, { boundary });
}

/** The request for the next hop of a redirect, by the fetch standard's method rules and the boundary's. */
function nextHop(
  request: Request,
  replay: Request | undefined,
  status: number,
  target: URL,
  boundary: CredentialBoundary,
): Request {
  const toGet =
    status === 303 ? request.method !== "HEAD" : (status === 301 || status === 302) && request.method === "POST";
  let headers = request.headers;
  if (toGet) {
    headers = new Headers(headers);
    for (const name of ["content-type", "content-length", "content-encoding", "content-language", "content-location"])
      headers.delete(name);
  }
  let url = target;
  if (!boundary.mayReceive(target)) {
    headers = boundary.withoutCredentials(headers);
    // Nor the trace context: it goes only where credentials may.
    headers.delete("traceparent");
    headers.delete("tracestate");
    url = boundary.urlWithoutCredentials(target);
  }
  const body = toGet ? null : (replay?.body ?? null);
  const signal = givenSignal(request);
  // The same kind of request as the first hop (a light one on the Node transport).
  return new (request.constructor as typeof Request)(url, {
    method: toGet ? (request.method === "HEAD" ? "HEAD" : "GET") : request.method,
    headers,
    body,
    ...(signal && { signal }),
    redirect: "follow",
    ...(body && { duplex: "half" }),
  } as RequestInit);
}

/** One send; a failure to get an answer becomes a typed error, an abort stays what it was. */
async function sendOnce(base: FetchLike, request: Request, init: RequestInit | undefined): Promise<Response> {
  try {
    return await base(request, init);
  } catch (error) {
    const signal = givenSignal(request);
    if (signal?.aborted && error === signal.reason) throw error;
    if (error instanceof Error && (error.name === "AbortError" || error.name === "TimeoutError")) throw error;
    // Already typed (by a transport or dispatcher underneath): it says what failed.
    if (error instanceof MlServerClientError) throw error;
    const url = new URL(request.url);
    throw new NetworkError(`${request.method} ${scrub(url.origin + url.pathname)}`, systemReason(error), error);
  }
}
