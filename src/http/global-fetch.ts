/**
 * The global fetch at the end of a client's pipeline, as any platform has it, and the browser's,
 * with messages for what browsers hide (the browser build's platform sends through it).
 */
import type { FetchLike } from "../core/fetch.js";
import { senderOf } from "./network.js";
import type { SenderFactory } from "./platform.js";
import { InvalidOptionError, NetworkError } from "../core/errors.js";
import { scrub } from "../core/redact.js";

/** The global fetch: what a browser has, and all it has (TLS trust and proxies are the browser's). */
export const globalFetch: SenderFactory = ({ ca, proxy, maxConnections }, applicationFetch) => {
  const given = [
    ca !== undefined && "ca",
    proxy !== undefined && "proxy",
    maxConnections !== undefined && "maxConnections",
  ].filter(Boolean);
  if (given.length > 0) {
    throw new InvalidOptionError(
      `${given.join(", ")} ${given.length > 1 ? "are" : "is a"} Node option${given.length > 1 ? "s" : ""}: here ` +
        `requests go through the global fetch, whose TLS trust, proxy and connections are the platform's (in a ` +
        `browser, the browser's).`,
    );
  }
  // The global fetch honours init's redirect mode; the application's is told on the request.
  return applicationFetch
    ? senderOf(applicationFetch)
    : { fetch: (input, init) => globalThis.fetch(input, init), followsRedirects: "unless-told-in-init" };
};

/**
 * A browser's fetch: the same, and a request the browser refuses to complete says what that usually
 * means there. Browsers hide why (a CORS refusal, an unreachable host and a bad certificate are
 * all "Failed to fetch"), so the message names the likely causes.
 */
export const browserFetch: SenderFactory = (options, applicationFetch) => {
  const { fetch: send, followsRedirects } = globalFetch(options, applicationFetch);
  const fetch: FetchLike = async (input, init) => {
    try {
      return await send(input, init);
    } catch (error) {
      if ((error as Error)?.name !== "TypeError") throw error;
      const request = input instanceof Request ? input : new Request(input, init);
      const url = new URL(request.url);
      throw new NetworkError(
        `${request.method} ${scrub(url.origin + url.pathname)}`,
        "the browser did not complete it: the server is unreachable, its certificate is not trusted, or it does " +
          'not allow this page\'s origin (CORS: ML Server\'s "CORS": { "Enabled": true, "Origins": [...] } setting)',
        error,
      );
    }
  };
  return { fetch, followsRedirects };
};
