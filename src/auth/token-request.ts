import { AuthenticationError, TokenEndpointError, TokenResponseError, scrub } from "../errors.js";
import type { FetchLike } from "./provider.js";

/** How a token endpoint call is made. */
export interface TokenRequestOptions {
  fetch: FetchLike;
  /** Per attempt; the token cycle retries retryable failures. */
  timeoutMs: number;
  /** Names the call in messages, e.g. `POST /login`; the URL is not used, since it may hold a token. */
  label: string;
  /** Values that must never be echoed back, even if the server quotes them in an error body. */
  secrets: readonly string[];
}

/** Token responses are small; anything larger is refused rather than buffered. */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Sends one request to a token endpoint and returns its parsed JSON body. Failures become typed
 * errors: 400/401/403 an {@link AuthenticationError}; network errors, timeouts and 5xx a retryable
 * {@link TokenEndpointError}; any other status a non-retryable one; a 2xx body that is not JSON, or
 * too large, a {@link TokenResponseError}.
 */
export async function sendTokenRequest(request: Request, options: TokenRequestOptions): Promise<unknown> {
  const { label, secrets } = options;
  const origin = new URL(request.url).origin;
  const timeout = AbortSignal.timeout(options.timeoutMs);
  let response: Response;
  try {
    response = await options.fetch(new Request(request, { signal: timeout }));
  } catch (cause) {
    throw transportFailure(cause, `${label} at ${origin}`, options.timeoutMs, timeout.aborted);
  }
  if (!response.ok) {
    const detail = scrub(await errorDetail(response), secrets);
    const status = response.status;
    if (status === 400 || status === 401 || status === 403) {
      throw new AuthenticationError(`${label} at ${origin} was refused with HTTP ${status}${detail ? `: ${detail}` : ""}.`, { status, request, response });
    }
    throw new TokenEndpointError(
      `${label} at ${origin} failed with HTTP ${status}${detail ? `: ${detail}` : ""}.${status === 404 ? " Check baseUrl: it should be the web node's address, e.g. https://host:12800." : ""}`,
      { status, request, response, retryable: status >= 500 || status === 429 },
    );
  }
  const text = await readLimited(response, MAX_BODY_BYTES, label);
  try {
    return JSON.parse(text);
  } catch (cause) {
    const type = response.headers.get("content-type") ?? "no content type";
    throw new TokenResponseError(`${label} at ${origin} answered HTTP ${response.status} with a body that is not JSON (${type}, ${text.length} characters). Is this the right server?`, { cause, request, response });
  }
}

async function readLimited(response: Response, limit: number, label: string): Promise<string> {
  const declared = Number(response.headers.get("content-length"));
  if (declared > limit) {
    await response.body?.cancel();
    throw new TokenResponseError(`${label} answered with a ${declared}-byte body; token responses are far smaller, so it was not read.`, { response });
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
      await reader.cancel();
      throw new TokenResponseError(`${label} answered with a body over ${limit} bytes; token responses are far smaller, so it was not read.`, { response });
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
async function errorDetail(response: Response): Promise<string> {
  const text = await response.text().catch(() => "");
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const parts = [body.error, body.error_description, body.message].filter((p): p is string => typeof p === "string" && p.length > 0);
    return parts.join(": ").slice(0, 300);
  } catch {
    return "";
  }
}

/** The error for a token call that got no answer: unreachable, or slower than its time limit. Retryable. */
export function transportFailure(cause: unknown, call: string, timeoutMs: number, timedOut: boolean): TokenEndpointError {
  if (timedOut) return new TokenEndpointError(`${call} did not answer within ${timeoutMs} ms.`, { cause, retryable: true });
  const reason = networkReason(cause);
  if (/\(407\)/.test(reason)) {
    return new TokenEndpointError(`${call} failed: the proxy refused its credentials (HTTP 407). Check proxy.auth.`, { cause, retryable: false });
  }
  return new TokenEndpointError(`${call} could not be reached (${reason}). Check the address and that the server is up.`, { cause, retryable: true });
}

/** A system error code (ECONNREFUSED...) from anywhere in the cause chain, else its deepest message. */
function networkReason(cause: unknown): string {
  const chain: { code?: unknown; message?: unknown }[] = [];
  for (let c = cause as { code?: unknown; message?: unknown; cause?: unknown } | undefined; c && chain.length < 6; c = c.cause as typeof c) chain.push(c);
  const code = chain.map((e) => e.code).find((c): c is string => typeof c === "string" && /^E[A-Z_]+$/.test(c));
  if (code) return code;
  const message = chain.map((e) => e.message).reverse().find((m): m is string => typeof m === "string" && m !== "");
  return message ?? "network error";
}
