/**
 * The server a strategy's own calls go to (its sign-in, renewal and revoke): given in its options,
 * or the server of the first client it serves. One provider, one server: tokens of one server must
 * never be sent to another, so a second server is refused, never silently served.
 */
import type { AuthBinding } from "./provider.js";
import { sendTokenRequest } from "./token-request.js";
import { CredentialBoundary } from "../http/boundary.js";
import { setCredentialHeader } from "../http/credentials.js";
import { assertSecureTransport, normalizeBaseUrl } from "../http/origins.js";
import { createTransport } from "../http/pipeline.js";
import type { FetchLike } from "../core/fetch.js";
import { InvalidOptionError } from "../core/errors.js";

/** Where a strategy's calls go, and how. */
export interface ServerEndpointOptions {
  /** The strategy, as messages name it (e.g. `mlServerLogin`). */
  strategy: string;
  baseUrl?: string | undefined;
  /** A fetch of the strategy's own; by default the client's. */
  fetch?: FetchLike | undefined;
  allowInsecureHttp?: boolean | undefined;
  /** Time limit per call. */
  timeoutMs: number;
}

/** One JSON call to the server: its body, the access token it carries, and whether an empty answer will do. */
export interface EndpointCall {
  body?: unknown;
  accessToken?: string;
  emptyBodyOk?: boolean;
}

interface Bound {
  baseUrl: string;
  fetch: FetchLike;
  allowInsecureHttp: boolean;
}

export class ServerEndpoint {
  readonly #options: ServerEndpointOptions;
  #bound: Bound | undefined;
  /** The base URL as the last client gave it: the common case, the same again, costs one comparison. */
  #boundAs: string | undefined;

  constructor(options: ServerEndpointOptions) {
    this.#options = options;
    if (options.baseUrl !== undefined) this.#bound = this.#bind(options.baseUrl, undefined);
  }

  /** The server's base URL, once known. */
  get baseUrl(): string | undefined {
    return this.#bound?.baseUrl;
  }

  /** Binds to the client's server on first use; refuses any other afterwards. */
  bind(binding: AuthBinding): void {
    if (this.#bound && binding.baseUrl === this.#boundAs) return;
    const base = normalizeBaseUrl(binding.baseUrl);
    if (!this.#bound) this.#bound = this.#bind(base, binding);
    else if (this.#bound.baseUrl !== base) {
      const { strategy } = this.#options;
      throw new InvalidOptionError(
        `This ${strategy} provider signs in to ${this.#bound.baseUrl}; create a separate one for ${base}.`,
      );
    }
    this.#boundAs = binding.baseUrl;
  }

  /** Throws unless the server is known. */
  require(): Bound {
    if (!this.#bound)
      throw new InvalidOptionError(
        `${this.#options.strategy} does not know the server yet: pass baseUrl, or create a client with it first.`,
      );
    return this.#bound;
  }

  /** Sends one JSON call to `path` and returns its parsed answer; `secrets` are scrubbed from any error. */
  send(label: string, method: string, path: string, call: EndpointCall, secrets: string[]): Promise<unknown> {
    const { baseUrl, fetch, allowInsecureHttp } = this.require();
    const url = new URL(baseUrl + path);
    assertSecureTransport(url, allowInsecureHttp);
    const headers = new Headers({ accept: "application/json" });
    if (call.body !== undefined) headers.set("content-type", "application/json");
    if (call.accessToken)
      setCredentialHeader(headers, "authorization", `Bearer ${call.accessToken}`, "The access token");
    const request = new Request(url, {
      method,
      headers,
      ...(call.body !== undefined && { body: JSON.stringify(call.body) }),
    });
    const { timeoutMs } = this.#options;
    return sendTokenRequest(request, { fetch, timeoutMs, label, secrets, emptyBodyOk: call.emptyBodyOk === true });
  }

  #bind(baseUrl: string, binding: AuthBinding | undefined): Bound {
    const { fetch, allowInsecureHttp: insecure } = this.#options;
    const allowInsecureHttp = insecure ?? binding?.allowInsecureHttp ?? false;
    // The client's fetch is its pipeline; any other goes through one too, so that the strategy's
    // calls always meet the same send-time and redirect rules.
    const send =
      !fetch && binding
        ? binding.fetch
        : createTransport(new CredentialBoundary([], allowInsecureHttp), fetch ?? globalThis.fetch);
    return { baseUrl: normalizeBaseUrl(baseUrl), fetch: send, allowInsecureHttp };
  }
}
