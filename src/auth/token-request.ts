import {
  AuthenticationError,
  MlServerClientError,
  TokenEndpointError,
  TokenResponseError,
  systemReason,
} from "../core/errors.js";
import { rememberSecret, scrub } from "../core/redact.js";
import { asTokenCall } from "../http/exchange.js";
import type { FetchLike } from "../core/fetch.js";

const CHECK_BASE_URL = "Check baseUrl: it should be the web node's address, e.g. https://host:12800.";

/** How a token endpoint call is made. */
export interface TokenRequestOptions {
  fetch: FetchLike;
  /** Per attempt; the token cycle retries retryable failures. */
  timeoutMs: number;
  /** Names the call in messages, e.g. `POST /login`; the URL is not used, since it may hold a token. */
  label: string;
  /** Values that must never be echoed back, even if the server quotes them in an error body. */
  secrets: readonly string[];
  /** A 2xx answer may have an empty body (revoke calls); it then resolves to `undefined`. */
  emptyBodyOk?: boolean;
}

/** Token responses are small; anything larger is refused rather than buffered. */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Sends one request to a token endpoint and returns its parsed JSON body. The request is marked as
 * a token call, so the transport never follows it to another origin. The time limit covers the
 * whole exchange, body included. Failures become typed errors: 400/401/403 an
 * {@link AuthenticationError}; network errors, timeouts and 5xx a retryable
 * {@link TokenEndpointError}; any other status a non-retryable one; a 2xx body that is not JSON, or
 * too large, a {@link TokenResponseError}. Error bodies are read within the same size limit.
 */
export async function sendTokenRequest(request: Request, options: TokenRequestOptions): Promise<unknown> {
  const { label, secrets } = options;
  secrets.forEach(rememberSecret);
  const origin = new URL(request.url).origin;
  const call = `${label} at ${origin}`;
  const timeout = AbortSignal.timeout(options.timeoutMs);
  let response: Response;
  try {
    response = await options.fetch(asTokenCall(new Request(request, { signal: timeout })));
  } catch (cause) {
    if (cause instanceof MlServerClientError && cause.code !== "ERR_NETWORK") throw cause;
    throw transportFailure(cause, call, options.timeoutMs, timeout.aborted);
  }
  let text: string;
  try {
    text = await readLimited(response, call);
  } catch (cause) {
    if (cause instanceof MlServerClientError) throw cause;
    // The body stalled past the time limit, or the connection broke while it was arriving.
    throw transportFailure(cause, call, options.timeoutMs, timeout.aborted);
  }
  if (!response.ok) {
    const detail = scrub(errorDetail(text), secrets);
    const status = response.status;
    if (status === 400 || status === 401 || status === 403) {
      throw new AuthenticationError(`${call} was refused with HTTP ${status}${detail ? `: ${detail}` : ""}.`, {
        status,
        response,
      });
    }
    const redirected =
      status >= 300 && status < 400 ? " It answered with a redirect, which a token call does not follow." : "";
    const hint = status === 404 ? ` ${CHECK_BASE_URL}` : "";
    throw new TokenEndpointError(
      `${call} failed with HTTP ${status}${detail ? `: ${detail}` : ""}.${redirected}${hint}`,
      { status, response, retryable: status >= 500 || status === 429 },
    );
  }
  if (text === "" && options.emptyBodyOk) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    // No cause: a parser's message quotes the body, which may be a bare token.
    const type = scrub(response.headers.get("content-type") ?? "no content type").slice(0, 60);
    throw new TokenResponseError(
      `${call} answered HTTP ${response.status} with a body that is not JSON (${type}, ${text.length} ` +
        `characters). Is this the right server?`,
      { response },
    );
  }
}

/** Reads a token endpoint's body, refusing one larger than a token response can plausibly be. */
export async function readLimited(response: Response, label: string, limit = MAX_BODY_BYTES): Promise<string> {
  const declared = Number(response.headers.get("content-length"));
  if (declared > limit) {
    await response.body?.cancel().catch(() => {});
    throw new TokenResponseError(
      `${label} answered with a ${declared}-byte body; token responses are far smaller, so it was not read.`,
      { response },
    );
  }
  const reader = response.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new TokenResponseError(
        `${label} answered with a body over ${limit} bytes; token responses are far smaller, so it was not read.`,
        { response },
      );
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

/** The server's own explanation from an error body (`message`, or OAuth2's `error`/`error_description`). */
function errorDetail(text: string): string {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const parts = [body.error, body.error_description, body.message].filter(
      (p): p is string => typeof p === "string" && p.length > 0,
    );
    return parts.join(": ").slice(0, 300);
  } catch {
    return "";
  }
}

/** The error for a token call that got no answer: unreachable, or slower than its time limit. Retryable. */
export function transportFailure(
  cause: unknown,
  call: string,
  timeoutMs: number,
  timedOut: boolean,
): TokenEndpointError {
  if (timedOut)
    return new TokenEndpointError(`${call} did not answer within ${timeoutMs} ms.`, { cause, retryable: true });
  const reason = systemReason(cause);
  if (/\(407\)/.test(reason)) {
    return new TokenEndpointError(`${call} failed: the proxy refused its credentials (HTTP 407). Check proxy.auth.`, {
      cause,
      retryable: false,
    });
  }
  return new TokenEndpointError(
    `${call} could not be reached (${reason}). Check the address and that the server is up.`,
    { cause, retryable: true },
  );
}
