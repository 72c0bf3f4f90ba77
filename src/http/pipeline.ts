/**
 * The request pipeline: every request the library sends (API calls, 401 resends, token and revoke
 * calls) goes through the policies below, composed here in one fixed order, over one record of
 * the call ({@link Exchange}). Above it sit openapi-fetch's middleware: the application's, then
 * the client's auth middleware. From the outside in:
 *
 * | policy | what it does |
 * |---|---|
 * | `clientSpan` | one OpenTelemetry span per call, around its retries (when tracing is on) |
 * | `retry` | sends again after a dropped connection, a 429 or a 503 (when retries are on) |
 * | `redirect` | follows redirects by the Fetch standard's method rules and the boundary's |
 * | `credentialCheck` | refuses a request carrying credentials to an origin that may not have them |
 * | `network` (the end) | sends through the platform's fetch, which never follows a redirect itself |
 *
 * Token calls and the strategies' own calls take the same path without the first two.
 */
import type { CredentialBoundary } from "./boundary.js";
import { Exchange } from "./exchange.js";
import { credentialCheckPolicy } from "./credential-check-policy.js";
import { network, senderOf, type Sender } from "./network.js";
import type { Next, Policy } from "./policy.js";
import { redirectPolicy } from "./redirect-policy.js";
import type { FetchLike } from "../core/fetch.js";

/** What {@link createPipeline} composes. */
export interface PipelineOptions {
  boundary: CredentialBoundary;
  /** The platform's fetch at the end (undici's dispatcher on Node, the page's fetch in a browser). */
  sender: Sender;
  /** The retry policy, when the client retries. */
  retry?: Policy | undefined;
  /** The client-span policy, when the client traces. */
  clientSpan?: Policy | undefined;
}

/** A composed pipeline, as fetch functions openapi-fetch and the strategies call. */
export interface Pipeline {
  /** Every policy: what API calls (and their resends after a 401) go through. */
  send: FetchLike;
  /** Without spans and retries: token calls and the strategies' own calls (they retry their own way). */
  direct: FetchLike;
}

/** Composes the pipeline: the one place that says which policies run, and in which order. */
export function createPipeline({ boundary, sender, retry, clientSpan }: PipelineOptions): Pipeline {
  const below = [redirectPolicy(boundary), credentialCheckPolicy(boundary)];
  const end = network(sender);
  const outer = [clientSpan, retry].filter((policy): policy is Policy => policy !== undefined);
  return {
    send: entry(compose([...outer, ...below], end)),
    direct: entry(compose(below, end)),
  };
}

function compose(policies: readonly Policy[], end: Next): Next {
  return policies.reduceRight<Next>((next, policy) => (exchange) => policy.send(exchange, next), end);
}

/** A fetch over `run`: a request enters with the record it carries (the middleware's), or a new one. */
function entry(run: Next): FetchLike {
  return (request, init) => run(Exchange.of(request, init));
}

/**
 * A fetch that enforces a {@link CredentialBoundary}, the pipeline without spans and retries over
 * `base`: a request carrying a credential goes only to an origin the boundary allows, and never
 * over plain HTTP except to loopback (checked on the request as sent, so a middleware that rewrites
 * the URL afterwards cannot redirect a token); redirects are followed here, not by `base`, and a
 * hop to an origin that may not receive credentials carries none; a request that gets no answer
 * throws a `NetworkError` (`ERR_NETWORK`) with the original error as its cause.
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
export function createTransport(boundary: CredentialBoundary, base: FetchLike = globalThis.fetch): FetchLike {
  return createPipeline({ boundary, sender: senderOf(base) }).direct;
}
