/**
 * Retries, a policy of the request pipeline: a call that meets a dropped connection, a 503 from a web node
 * behind a load balancer or a 429 is sent again, after an exponential backoff with full jitter or
 * the server's `Retry-After`, within bounded attempts and total time. Only idempotent methods by
 * default. Each attempt passes the transport's credential checks again; token calls are left to
 * the token cycle's own retries, and a 401 to the auth layer's one resend.
 */
import { discardBody, givenSignal } from "./bodies.js";
import type { Exchange } from "./exchange.js";
import { retryLayer, type Retries } from "./layers.js";
import type { Next, Policy } from "./policy.js";
import { abortable, delay } from "../core/fetch.js";
import { NetworkError } from "../core/errors.js";
import { debug } from "../core/log.js";

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

const defaultSleep = (ms: number, signal: AbortSignal | undefined) => abortable(delay(ms, signal), signal);

/** `Retry-After` in ms: delta-seconds or an HTTP date (RFC 9110 section 10.2.3), else undefined. */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The retry policy: sends a call again as {@link RetryOptions} say. */
export function retryPolicy(options: RetryOptions = {}): Policy {
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

  const eligible = ({ tokenCall, operation, request }: Exchange) => {
    if (tokenCall) return false;
    const choice = operation === undefined ? undefined : options.operations?.[`${request.method} ${operation}`];
    return choice ?? methods.has(request.method);
  };

  /** How an attempt ended: an answer, or a failure to get one. */
  type Outcome = { response: Response; failure?: undefined } | { response?: undefined; failure: unknown };

  /** After a first attempt worth retrying; `request` is the call's as the first attempt sent it. */
  async function continueAfter(
    exchange: Exchange,
    request: Request,
    next: Next,
    started: number,
    first: Outcome,
  ): Promise<Response> {
    const signal = givenSignal(request);
    let outcome = first;
    try {
      for (let attempt = 0; ; attempt++) {
        const { response, failure } = outcome;
        const retryable = response ? statuses.has(response.status) : failure instanceof NetworkError;
        const delay = retryable && attempt < retries ? delayFor(attempt, response) : undefined;
        if (delay === undefined || clock() - started + delay > maxElapsedMs || signal?.aborted) {
          exchange.retries = attempt;
          if (response) return attempt > 0 ? exchange.carry(response) : response;
          throw failure;
        }
        const reason = response ? `HTTP ${response.status}` : `${(failure as NetworkError).reason ?? "network error"}`;
        debug(
          `${request.method} ${new URL(request.url).pathname}: ${reason}; retry ${attempt + 1} of ${retries} ` +
            `in ${Math.round(delay)} ms`,
        );
        if (response) discardBody(response);
        await sleep(delay, signal);
        exchange.request = await exchange.again(request);
        try {
          outcome = { response: await next(exchange) };
        } catch (error) {
          outcome = { failure: error };
        }
      }
    } finally {
      exchange.letGo();
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

  return {
    name: "retry",
    send(exchange, next) {
      exchange.retries = 0;
      if (retries === 0 || !eligible(exchange)) return next(exchange);
      // The body is consumed by the send: keep it while another attempt may follow.
      const request = exchange.request;
      exchange.hold(request);
      const started = clock();
      // The common case, answered at the first attempt, costs one `then`; the loop starts only
      // after an outcome worth retrying, and lets go of the body when it ends.
      return next(exchange).then(
        (response) => {
          if (statuses.has(response.status)) return continueAfter(exchange, request, next, started, { response });
          exchange.letGo();
          return response;
        },
        (failure: unknown) => {
          if (failure instanceof NetworkError) return continueAfter(exchange, request, next, started, { failure });
          exchange.letGo();
          throw failure;
        },
      );
    },
  };
}

/**
 * Retries as a value for a client's `retry` option. On Node, plain options do the same
 * (`retry: { retries: 5 }`), since the Node entry has retries built in; the browser build retries
 * only when given this, which keeps the retry code out of pages that do not ask for it.
 *
 * @example
 * ```ts
 * import { createMlServerClient, retries } from "mlserver-client";
 * const client = createMlServerClient({ baseUrl, auth, retry: retries({ retries: 2 }) });
 * ```
 */
export function retries(options?: RetryOptions): Retries {
  return retryLayer(() => retryPolicy(options));
}
