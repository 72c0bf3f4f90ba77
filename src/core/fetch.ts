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
