/**
 * Retries, around the transport: a call that meets a dropped connection, a 503 from a web node
 * behind a load balancer or a 429 is sent again, after an exponential backoff with full jitter or
 * the server's `Retry-After`, within bounded attempts and total time. Only idempotent methods by
 * default. Each attempt passes the transport's credential checks again; token calls are left to
 * the token cycle's own retries, and a 401 to the auth layer's one resend.
 */
import { isTokenCall } from "./boundary.js";
import type { FetchLike } from "../core/fetch.js";
import { discardBody, givenSignal, hasBody } from "../core/bodies.js";
import { abortable } from "../core/fetch.js";
import { NetworkError } from "../core/errors.js";
import { debug } from "../core/log.js";
import { installRetries, type RetryLayer } from "./layers.js";
import { markRetries, templateOf } from "../core/operation.js";

/**
 * How calls are retried; every option has a default. `retry: false` on the client turns retries off.
 *
 * @example
 * ```ts
 * const client = createMlServerClient({
 *   baseUrl, auth,
 *   retry: { retries: 5, maxElapsedMs: 20_000, operations: { "POST /api/{name}/{version}": true } },
 * });
 * ```
 */
export interface RetryOptions {
  /** Retries after the first attempt (default 3, so at most 4 attempts). */
  retries?: number;
  /** The backoff's base: attempt n waits a random time up to `baseDelayMs * 2^n` (default 300 ms). */
  baseDelayMs?: number;
  /** The most one backoff waits (default 10 s). */
  maxDelayMs?: number;
  /** No retry starts once this long has passed since the first attempt, waits included (default 60 s). */
  maxElapsedMs?: number;
  /** A `Retry-After` longer than this is cut to it (default 60 s). */
  maxRetryAfterMs?: number;
  /** Methods retried (default GET, HEAD, OPTIONS, PUT, DELETE: the idempotent ones). */
  methods?: readonly string[];
  /** Statuses retried (default 408, 429, 502, 503, 504). */
  statuses?: readonly number[];
  /**
   * Retry POST too, for every operation (default false: publishing a service twice is not the same
   * as once). Consuming a scoring service is a pure function and usually safe to retry.
   */
  retryPost?: boolean;
  /**
   * Per operation, by method and path template as in the API description: `true` retries it
   * whatever its method (e.g. `"POST /api/{name}/{version}": true`), `false` never retries it.
   */
  operations?: Readonly<Record<string, boolean>>;
  /** The time in ms, for tests. */
  clock?: () => number;
  /** How waits are made, for tests; it must reject when `signal` aborts. */
  sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
  /** A number in [0, 1), for the jitter; for tests. */
  random?: () => number;
}

const IDEMPOTENT = ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"];
const RETRIED_STATUSES = [408, 429, 502, 503, 504];

const defaultSleep = (ms: number, signal: AbortSignal | undefined) =>
  abortable(
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal?.addEventListener("abort", () => clearTimeout(timer), { once: true });
    }),
    signal,
  );

/** `Retry-After` in ms: delta-seconds or an HTTP date (RFC 9110 section 10.2.3), else undefined. */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Wraps `send` (a transport) with the retry policy. */
export function withRetries<F extends FetchLike>(send: F, options: RetryOptions = {}): F {
  const retries = Math.max(0, options.retries ?? 3);
  const baseDelayMs = options.baseDelayMs ?? 300;
  const maxDelayMs = options.maxDelayMs ?? 10_000;
  const maxElapsedMs = options.maxElapsedMs ?? 60_000;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
  const methods = new Set((options.methods ?? IDEMPOTENT).map((m) => m.toUpperCase()));
  if (options.retryPost) methods.add("POST");
  const statuses = new Set(options.statuses ?? RETRIED_STATUSES);
  const clock = options.clock ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;

  const eligible = (request: Request) => {
    if (isTokenCall(request)) return false;
    const template = options.operations && templateOf(request);
    const choice = template === undefined ? undefined : options.operations?.[`${request.method} ${template}`];
    return choice ?? methods.has(request.method);
  };

  /** How an attempt ended: an answer, or a failure to get one. */
  type Outcome = { response: Response; failure?: undefined } | { response?: undefined; failure: unknown };
  const discard = (spare: Request | undefined) => spare && discardBody(spare);

  const retrying = (request: Request, init?: RequestInit): Promise<Response> => {
    if (retries === 0 || !eligible(request)) return send(request, init);
    // The body is consumed by the send: keep a copy while another attempt may follow.
    const spare = hasBody(request) ? request.clone() : undefined;
    const started = clock();
    // The common case, answered at the first attempt, costs one `then`; the loop starts only
    // after an outcome worth retrying.
    return send(request, init).then(
      (response) => {
        if (statuses.has(response.status)) return continueAfter(request, init, spare, started, { response });
        discard(spare);
        return response;
      },
      (failure: unknown) => {
        if (failure instanceof NetworkError) return continueAfter(request, init, spare, started, { failure });
        discard(spare);
        throw failure;
      },
    );
  };

  async function continueAfter(
    request: Request,
    init: RequestInit | undefined,
    firstSpare: Request | undefined,
    started: number,
    first: Outcome,
  ): Promise<Response> {
    let outcome = first;
    let spare = firstSpare;
    const signal = givenSignal(request);
    for (let attempt = 0; ; attempt++) {
      const { response, failure } = outcome;
      const retryable = response ? statuses.has(response.status) : failure instanceof NetworkError;
      const delay = retryable && attempt < retries ? delayFor(attempt, response) : undefined;
      if (delay === undefined || clock() - started + delay > maxElapsedMs || signal?.aborted) {
        discard(spare);
        if (response) {
          if (attempt > 0) markRetries(response, attempt);
          return response;
        }
        throw failure;
      }
      const reason = response ? `HTTP ${response.status}` : `${(failure as NetworkError).reason ?? "network error"}`;
      debug(
        `${request.method} ${new URL(request.url).pathname}: ${reason}; retry ${attempt + 1} of ${retries} in ` +
          `${Math.round(delay)} ms`,
      );
      if (response) discardBody(response);
      try {
        await sleep(delay, signal);
      } catch (error) {
        discard(spare);
        throw error;
      }
      const current = spare ?? request;
      spare = attempt + 1 < retries && hasBody(current) ? current.clone() : undefined;
      try {
        outcome = { response: await send(current, init) };
      } catch (error) {
        outcome = { failure: error };
      }
    }
  }

  function delayFor(attempt: number, response: Response | undefined): number {
    const after =
      response && (response.status === 429 || response.status === 503)
        ? retryAfterMs(response.headers.get("retry-after"), clock())
        : undefined;
    if (after !== undefined) return Math.min(after, maxRetryAfterMs);
    // Full jitter (AWS's "Exponential Backoff and Jitter"): spreads the retries of many clients.
    return random() * Math.min(maxDelayMs, baseDelayMs * 2 ** attempt);
  }

  return Object.assign(retrying, send) as F;
}

/**
 * Makes clients created from now on retry as {@link RetryOptions} says (their `retry` option). The
 * Node entry does this itself; the browser build leaves retries out of the bundle unless the app
 * calls it once, before creating its clients.
 *
 * @example
 * ```ts
 * import { createMlServerClient, useRetries } from "mlserver-client";
 * useRetries();
 * const client = createMlServerClient({ baseUrl, auth, retry: { retries: 2 } });
 * ```
 */
export function useRetries(): void {
  installRetries(withRetries as RetryLayer);
}
