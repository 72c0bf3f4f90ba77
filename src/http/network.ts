/**
 * The end of the pipeline: one send through the platform's fetch, which must not follow redirects
 * itself (the redirect policy does, with its checks); a failure to get an answer becomes a typed
 * error, an abort stays what it was.
 */
import { discardBody, givenSignal } from "./bodies.js";
import type { Exchange } from "./exchange.js";
import type { FetchLike } from "../core/fetch.js";
import { InvalidOptionError, MlServerClientError, NetworkError, systemReason } from "../core/errors.js";
import { scrub } from "../core/redact.js";

/** The fetch at the end of a pipeline, and how to keep it from following redirects. */
export interface Sender {
  readonly fetch: FetchLike;
  /**
   * `never`: it follows none (the Node default). `unless-told-in-init`: it honours
   * `init.redirect` (the global fetch: cheaper than a new Request). `unless-told`: any other fetch,
   * told on the request itself, which no fetch can overlook.
   */
  readonly followsRedirects: "never" | "unless-told-in-init" | "unless-told";
  /** The request class openapi-fetch should build with, when the sender has its own (the light one). */
  readonly Request?: typeof Request;
}

/** A sender over any fetch. */
export function senderOf(fetch: FetchLike): Sender {
  return { fetch, followsRedirects: fetch === globalThis.fetch ? "unless-told-in-init" : "unless-told" };
}

/** Sends the exchange's request once through `sender`. */
export function network({ fetch, followsRedirects }: Sender): (exchange: Exchange) => Promise<Response> {
  return ({ request, init }) => {
    const follow = request.redirect === "follow" && followsRedirects !== "never";
    const inInit = follow && followsRedirects === "unless-told-in-init";
    const sent = follow && !inInit ? new Request(request, { redirect: "manual" }) : request;
    let answer: Promise<Response>;
    try {
      answer = fetch(sent, inInit ? { ...init, redirect: "manual" } : init);
    } catch (error) {
      answer = Promise.reject(error);
    }
    return answer.then(
      (response) => {
        if (!response.redirected) return response;
        // A fetch that follows redirects whatever the request says took hops nobody checked.
        discardBody(response);
        throw new InvalidOptionError(
          "The fetch given to the client followed a redirect itself, though the request said redirect: " +
            '"manual"; use a fetch that honours the request\'s redirect mode.',
        );
      },
      (error: unknown) => {
        throw typed(error, request);
      },
    );
  };
}

function typed(error: unknown, request: Request): unknown {
  const signal = givenSignal(request);
  if (signal?.aborted && error === signal.reason) return error;
  if (error instanceof Error && (error.name === "AbortError" || error.name === "TimeoutError")) return error;
  // Already typed (by a dispatcher underneath): it says what failed.
  if (error instanceof MlServerClientError) return error;
  const url = new URL(request.url);
  return new NetworkError(`${request.method} ${scrub(url.origin + url.pathname)}`, systemReason(error), error);
}
