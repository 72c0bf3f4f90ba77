/**
 * MSAL's network client over the library's pipeline, so that a custom CA, the send-time checks and
 * the redirect rules apply to every authority call, and failures become typed errors.
 */
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from "@azure/msal-node";
import type { AuthBinding } from "../auth/provider.js";
import { readLimited, transportFailure } from "../auth/token-request.js";
import type { FetchLike } from "../core/fetch.js";
import { MlServerClientError, TokenResponseError } from "../core/errors.js";
import { scrub } from "../core/redact.js";
import { CredentialBoundary } from "../http/boundary.js";
import { fetchTrusting } from "../http/dispatcher.js";
import { asTokenCall } from "../http/exchange.js";
import { createTransport } from "../http/pipeline.js";

/** What the network client takes of the strategy's options. */
export interface MsalNetworkOptions {
  /** The fetch for authority calls; default: the client's. */
  fetch?: FetchLike | undefined;
  /** PEM certificates to trust for the authority. */
  ca?: string | string[] | undefined;
  /** Time limit per authority call (default 30 s). */
  timeoutMs?: number | undefined;
}

/**
 * A per-strategy MSAL network client. It records the typed error it raised, because MSAL wraps
 * network failures in its own errors and the original reason would otherwise be lost.
 */
export class MsalNetwork implements INetworkModule {
  lastError: MlServerClientError | undefined;
  #fetch: FetchLike | undefined;

  constructor(private readonly options: MsalNetworkOptions) {}

  /**
   * Uses the client's transport unless the strategy was given its own fetch or CA; those get a
   * transport of their own, so authority calls always meet the same send-time and redirect rules.
   */
  bind(binding: AuthBinding | undefined): void {
    if (this.#fetch) return;
    const { fetch, ca } = this.options;
    if (!fetch && !ca && binding) {
      this.#fetch = binding.fetch;
      return;
    }
    const base = fetch ?? globalThis.fetch;
    this.#fetch = createTransport(new CredentialBoundary([], false), ca ? fetchTrusting(ca, base) : base);
  }

  sendGetRequestAsync<T>(url: string, options?: NetworkRequestOptions, timeout?: number): Promise<NetworkResponse<T>> {
    return this.#send<T>(new Request(url, { headers: options?.headers ?? {} }), "GET", timeout);
  }

  sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    // Token requests: their form body holds the client secret, assertion or device code.
    return this.#send<T>(
      asTokenCall(new Request(url, { method: "POST", headers: options?.headers ?? {}, body: options?.body ?? "" })),
      "POST",
    );
  }

  async #send<T>(request: Request, method: string, timeout?: number): Promise<NetworkResponse<T>> {
    this.bind(undefined);
    const url = new URL(request.url);
    const label = `${method} ${url.pathname}`;
    const timeoutMs = timeout ?? this.options.timeoutMs ?? 30_000;
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      // Errors from the authority are answers MSAL must see (e.g. authorization_pending), so any
      // status is passed through; only transport failures and non-JSON bodies become errors here.
      const sent = new Request(request, { signal });
      const response = await this.#fetch!(method === "POST" ? asTokenCall(sent) : sent);
      const text = await readLimited(response, `The authority's answer to ${label}`);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        // No cause: a parser's message quotes the body, which may be a bare token.
        const type = scrub(response.headers.get("content-type") ?? "no content type").slice(0, 60);
        throw new TokenResponseError(
          `The authority answered ${label} with HTTP ${response.status} and a body that is not JSON (${type}, ` +
            `${text.length} characters). Check the authority URL.`,
        );
      }
      return { headers: Object.fromEntries(response.headers), body: body as T, status: response.status };
    } catch (error) {
      this.lastError =
        error instanceof MlServerClientError && error.code !== "ERR_NETWORK"
          ? error
          : transportFailure(error, `${label} at ${url.origin}`, timeoutMs, signal.aborted);
      throw this.lastError;
    }
  }
}
