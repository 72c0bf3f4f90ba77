/**
 * What every layer's requests have in common: the one fetch shape the library needs, and waiting
 * that an `AbortSignal` can cut short.
 */

/**
 * The one fetch shape the library needs: global `fetch` fits, and so does openapi-fetch's. The
 * second argument carries extra init options (such as an undici `dispatcher`) through.
 */
export type FetchLike = (request: Request, init?: RequestInit) => Promise<Response>;

/** A value, or a promise of it. */
export type MaybePromise<T> = T | Promise<T>;

/** Waits for `promise`, or rejects with the abort reason as soon as `signal` aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Waits `ms`, or until `signal` aborts, and resolves either way. The abort listener is removed when
 * the time is up, so that a long-lived signal does not gather one per wait.
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
