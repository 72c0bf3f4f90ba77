import { abortable } from "../core/fetch.js";
import { TokenEndpointError } from "../core/errors.js";
import { debug, fingerprint } from "../core/log.js";
import { NO_SPANS, tokenAttributes, type SpanRecorder } from "../http/layers.js";
import type { TokenSet } from "./token-set.js";

/**
 * Timing and retry settings of a {@link TokenCycler}; every one has a default.
 *
 * @group Building blocks
 */
export interface TokenCycleOptions {
  /**
   * Start renewing this long before expiry (default 5 minutes). For short-lived tokens it shrinks
   * to a tenth of the token's lifetime, so a 1-second token is renewed after about 0.9 s.
   */
  refreshWindowMs?: number;
  /**
   * Stop sending a token this long before it expires, to allow for clock skew and transit (default
   * 30 seconds, at most a twentieth of the lifetime). Callers wait for the renewal past this point.
   * The margin also grows to twice the slowest recent token round trip (up to a quarter of the
   * lifetime), so that under load a token is not sent when it may expire before it arrives.
   */
  expiryMarginMs?: number;
  /** Attempts per renewal for network errors, timeouts and 5xx (default 3); 4xx is never retried. */
  maxAttempts?: number;
  /** First backoff delay, doubled each attempt with jitter (default 200 ms, capped at 5 s). */
  retryDelayMs?: number;
  /** After a failed background renewal, wait this long before trying again (default 3 s). */
  retryCooldownMs?: number;
  /** The time, in ms since the epoch; inject a fake clock in tests. */
  clock?: () => number;
  /** How backoff waits; inject in tests. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * What a {@link TokenCycler} is made with: the cycle's timing, and how to get a token set.
 *
 * @group Building blocks
 */
export interface TokenCyclerOptions<T extends TokenSet> extends TokenCycleOptions {
  /** Gets a new token set: a renewal when `previous` is given, else a first sign-in. */
  acquire: (previous: T | undefined) => Promise<T>;
  /**
   * True when a renewal revokes the previous token at once (ML Server's rotation): calls made while
   * a renewal runs wait for the new token instead of sending one about to be refused. False
   * (OAuth2, Azure AD) keeps serving the still-valid token while the renewal runs in the background.
   */
  rotating: boolean;
  /** Called with every new complete token set, and with `undefined` when tokens are dropped. */
  onChange?: (tokens: T | undefined) => void;
  /** Start from these tokens (e.g. persisted by an earlier run). */
  initial?: T;
  /** The strategy's name, for the sign-in and renewal spans (e.g. `ml-server-login`). */
  strategy?: string;
  /** Records the sign-in and renewal spans (default: none; a strategy gets its client's on `bind`). */
  spans?: SpanRecorder;
}

interface Entry<T> {
  tokens: T;
  /** From here on, a renewal is due. */
  refreshAt: number;
  /** Past this point the token is not sent any more. */
  usableUntil: number;
}

/**
 * Keeps one token fresh for any number of concurrent callers. A small state machine:
 * fresh → renewal due (background or waited, by `rotating`) → expired (everyone waits); a single
 * renewal is in flight at a time and all callers share its result, success or failure.
 * It sets no timers: renewals are started by callers, so an idle process can exit.
 *
 * @group Building blocks
 */
export class TokenCycler<T extends TokenSet> {
  readonly #acquire: (previous: T | undefined) => Promise<T>;
  readonly #rotating: boolean;
  readonly #onChange: ((tokens: T | undefined) => void) | undefined;
  readonly #refreshWindowMs: number;
  readonly #expiryMarginMs: number;
  readonly #maxAttempts: number;
  readonly #retryDelayMs: number;
  readonly #retryCooldownMs: number;
  readonly #clock: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #strategy: string;
  readonly #spans: SpanRecorder;
  #current: Entry<T> | undefined;
  #inflight: Promise<T> | undefined;
  #failedAt = -Infinity;
  /**
   * Durations of the most recent token requests, and of calls whose token expired on the way: how
   * long a request takes to arrive and return now.
   */
  readonly #roundTrips: number[] = [];
  /** Bumped when tokens are replaced from outside, so a renewal that started before is discarded. */
  #generation = 0;
  /** Counts renewals started, for tests and benchmarks. */
  acquisitions = 0;

  constructor(options: TokenCyclerOptions<T>) {
    this.#acquire = options.acquire;
    this.#rotating = options.rotating;
    this.#onChange = options.onChange;
    this.#refreshWindowMs = options.refreshWindowMs ?? 5 * 60_000;
    this.#expiryMarginMs = options.expiryMarginMs ?? 30_000;
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.#retryDelayMs = options.retryDelayMs ?? 200;
    this.#retryCooldownMs = options.retryCooldownMs ?? 3_000;
    this.#clock = options.clock ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#strategy = options.strategy ?? "custom";
    this.#spans = options.spans ?? NO_SPANS;
    if (options.initial) this.#current = this.#entry(options.initial);
  }

  /** The current token set, if any (whether or not it is still usable). */
  get current(): T | undefined {
    return this.#current?.tokens;
  }

  /**
   * A token to send now. Resolves at once while the token is fresh; otherwise joins (or starts) the
   * one renewal. Aborting `signal` abandons this caller's wait only, never the shared renewal.
   */
  getToken(signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const now = this.#clock();
    const entry = this.#current;
    if (entry && now < entry.usableUntil) {
      if (now < entry.refreshAt || now - this.#failedAt < this.#retryCooldownMs) return Promise.resolve(entry.tokens);
      if (!this.#rotating) {
        // The old token stays valid: keep serving it while one renewal runs in the background.
        this.#renew().catch(() => {});
        return Promise.resolve(entry.tokens);
      }
    }
    return this.#wait(signal);
  }

  /**
   * Reports that the server refused `accessToken`. If it is the current token, it is not sent again
   * and the next {@link getToken} renews; if it was already superseded, nothing happens, and the
   * caller simply retries with the current one.
   */
  invalidate(accessToken: string): "renewing" | "superseded" {
    const entry = this.#current;
    if (!entry || entry.tokens.accessToken !== accessToken) return "superseded";
    // Refused after it expired: it was sent before usableUntil and expired on the way, so calls
    // take at least this long now. Counted as a transit time, it widens the margin of the next set.
    const now = this.#clock();
    if (now >= entry.tokens.expiresAt && Number.isFinite(entry.usableUntil))
      this.#recordTransit(now - entry.usableUntil);
    entry.refreshAt = entry.usableUntil = -Infinity;
    this.#failedAt = -Infinity;
    return "renewing";
  }

  /** Replaces the tokens from outside (a sign-in, or `undefined` to forget them). */
  set(tokens: T | undefined): void {
    this.#generation++;
    this.#current = tokens && this.#entry(tokens);
    this.#onChange?.(tokens);
  }

  /**
   * Takes `tokens` if they are newer than the current ones (a later expiry) and no renewal is in
   * flight: another process renewed, as a shared store shows. Returns whether they were taken.
   */
  offer(tokens: T): boolean {
    const entry = this.#current;
    if (
      this.#inflight ||
      (entry && (entry.tokens.accessToken === tokens.accessToken || entry.tokens.expiresAt >= tokens.expiresAt))
    )
      return false;
    this.#current = this.#entry(tokens);
    this.#failedAt = -Infinity;
    this.#onChange?.(tokens);
    return true;
  }

  /** Resolves once no renewal is in flight (its outcome is ignored). */
  async settle(): Promise<void> {
    while (this.#inflight) await this.#inflight.catch(() => {});
  }

  async #wait(signal: AbortSignal | undefined): Promise<T> {
    const before = this.#current;
    try {
      return await abortable(this.#renew(), signal);
    } catch (error) {
      // A failed renewal leaves a still-valid token usable: the server never rotated it.
      const entry = this.#current;
      if (!signal?.aborted && entry && entry === before && this.#clock() < entry.usableUntil) return entry.tokens;
      throw error;
    }
  }

  #renew(): Promise<T> {
    if (this.#inflight) return this.#inflight;
    const previous = this.#current?.tokens;
    const generation = this.#generation;
    this.acquisitions++;
    const span = previous ? "mlserver-client renewal" : "mlserver-client sign-in";
    const promise = this.#spans
      .inSpan(span, { "mlserver_client.strategy": this.#strategy }, async () => {
        const tokens = await this.#acquireWithRetry(previous);
        this.#spans.annotate(tokenAttributes(tokens.accessToken));
        return tokens;
      })
      .then(
        (tokens) => {
          if (generation === this.#generation) {
            this.#current = this.#entry(tokens);
            this.#failedAt = -Infinity;
            debug(
              `token ${previous ? "renewed" : "acquired"}: ${fingerprint(tokens.accessToken)}, expires in ` +
                `${Math.round((tokens.expiresAt - this.#clock()) / 1000)} s`,
            );
            this.#onChange?.(tokens);
          }
          return tokens;
        },
        (error: unknown) => {
          this.#failedAt = this.#clock();
          debug(
            `token ${previous ? "renewal" : "acquisition"} failed: ` +
              `${(error as { code?: string }).code ?? (error as Error).name}`,
          );
          throw error;
        },
      );
    const tracked = promise.finally(() => {
      if (this.#inflight === tracked) this.#inflight = undefined;
    });
    this.#inflight = tracked;
    return tracked;
  }

  async #acquireWithRetry(previous: T | undefined): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const started = this.#clock();
      try {
        const tokens = await this.#acquire(previous);
        this.#recordTransit(this.#clock() - started);
        return tokens;
      } catch (error) {
        const retryable = error instanceof TokenEndpointError && error.retryable;
        if (!retryable || attempt >= this.#maxAttempts) throw error;
        const delay = Math.min(5_000, this.#retryDelayMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
        debug(
          `token endpoint failed (${error.message.split(":")[0]}); retry ${attempt} of ${this.#maxAttempts - 1} ` +
            `in ${Math.round(delay)} ms`,
        );
        await this.#sleep(delay);
      }
    }
  }

  #recordTransit(ms: number): void {
    this.#roundTrips.push(ms);
    if (this.#roundTrips.length > 8) this.#roundTrips.shift();
  }

  #entry(tokens: T): Entry<T> {
    const lifetime = Math.max(0, tokens.expiresAt - this.#clock());
    const transit = this.#roundTrips.length ? Math.max(...this.#roundTrips) : 0;
    const margin = Math.max(Math.min(this.#expiryMarginMs, lifetime / 20), Math.min(2 * transit, lifetime / 4));
    const window = Math.max(margin, Math.min(this.#refreshWindowMs, lifetime / 10));
    const usableUntil = tokens.expiresAt - margin;
    // An issuer's own renewal time (e.g. refreshAfterTimestamp) wins, within the token's life.
    const refreshAt =
      tokens.refreshAt === undefined ? tokens.expiresAt - window : Math.min(tokens.refreshAt, usableUntil);
    return { tokens, refreshAt, usableUntil };
  }
}
