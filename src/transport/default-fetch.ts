/**
 * What a client sends through underneath its transport, chosen by the entry point: on Node, undici's
 * dispatcher (`mlserver-client` installs it); in a browser, the global `fetch`. The choice is made by
 * the entry point rather than here so that the browser build never reaches undici or `node:tls`.
 */
import type { FetchLike } from "../auth/provider.js";
import type { ProxyOptions } from "./dispatcher.js";
import { InvalidOptionError } from "../errors.js";

/** The client options that shape the default fetch. */
export interface NetworkOptions {
  ca?: string | string[];
  proxy?: ProxyOptions;
  maxConnections?: number;
}

/** Builds the fetch under a client's transport from its options and the application's own fetch, if any. */
export type DefaultFetch = (options: NetworkOptions, applicationFetch: FetchLike | undefined) => FetchLike;

/** The global fetch: what a browser has, and all it has (TLS trust and proxies are the browser's). */
export const globalFetch: DefaultFetch = ({ ca, proxy, maxConnections }, applicationFetch) => {
  const given = [ca !== undefined && "ca", proxy !== undefined && "proxy", maxConnections !== undefined && "maxConnections"].filter(Boolean);
  if (given.length > 0) {
    throw new InvalidOptionError(`${given.join(", ")} ${given.length > 1 ? "are" : "is a"} Node option${given.length > 1 ? "s" : ""}: here requests go through the global fetch, whose TLS trust, proxy and connections are the platform's (in a browser, the browser's).`);
  }
  return applicationFetch ?? ((input, init) => globalThis.fetch(input, init));
};

let current: DefaultFetch = globalFetch;

/** Sets the default fetch for clients created from now on (called once by each entry point). */
export function useDefaultFetch(choice: DefaultFetch): void {
  current = choice;
}

/** The fetch a new client sends through. */
export function defaultFetch(options: NetworkOptions, applicationFetch: FetchLike | undefined): FetchLike {
  return current(options, applicationFetch);
}
