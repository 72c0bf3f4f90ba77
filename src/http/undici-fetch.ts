/**
 * The default way requests leave: a sender over undici's dispatcher API (an `Agent`, or a
 * `ProxyAgent`), skipping the fetch standard's machinery that Node's global `fetch` runs on every
 * call. It never follows redirects (the pipeline's redirect policy does, by its rules), streams
 * request and response bodies, keeps connections alive, honours `AbortSignal`, and trusts extra CAs
 * or goes through a proxy as {@link fetchWith} does. undici is loaded on the first request.
 */
import { basicCredentials } from "./credentials.js";
import { isLoopback } from "./origins.js";
import type { FetchLike } from "../core/fetch.js";
import { givenSignal } from "./bodies.js";
import { InvalidOptionError } from "../core/errors.js";
import { checkProxy, type TransportOptions } from "./dispatcher.js";
import { LightRequest, LightResponse, linkLightClasses } from "./light.js";
import type { Sender } from "./network.js";

type Undici = typeof import("undici");
type Dispatcher = import("undici").Dispatcher;
type ResponseData = Awaited<ReturnType<Dispatcher["request"]>>;
type HttpMethod = Parameters<Dispatcher["request"]>[0]["method"];

/** Bodies up to this size are sent whole, with a Content-Length; larger ones stream, chunked. */
const WHOLE_BODY_LIMIT = 1024 * 1024;

/**
 * A small body as one buffer (servers and proxies that dislike chunked uploads get a length), a
 * large one as a stream that begins with what was already read: nothing large is buffered.
 */
async function bodyToSend(stream: ReadableStream<Uint8Array>): Promise<Uint8Array | AsyncIterable<Uint8Array>> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size <= WHOLE_BODY_LIMIT) {
    const { done, value } = await reader.read();
    if (done) return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
    chunks.push(value);
    size += value.byteLength;
  }
  return (async function* () {
    yield* chunks;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  })();
}

/** Statuses whose responses have no body, by the fetch standard. */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * A sender over undici's dispatcher API, with the given CAs and proxy.
 *
 * @example
 * ```ts
 * const { fetch } = undiciFetch({ ca: readFileSync("corp-root.pem", "utf8") });
 * const response = await fetch(new Request("https://mlserver.example.com:12800/status"));
 * ```
 */
export function undiciFetch(options: TransportOptions = {}): Sender {
  const extra = options.ca === undefined ? undefined : typeof options.ca === "string" ? [options.ca] : options.ca;
  const proxy = options.proxy && checkProxy(options.proxy);
  const connections = options.maxConnections;
  if (connections !== undefined && !(Number.isInteger(connections) && connections > 0)) {
    throw new InvalidOptionError("maxConnections must be a positive whole number, e.g. 64.");
  }
  linkLightClasses();
  let loaded: { direct: Dispatcher; proxied: Dispatcher | undefined } | undefined;
  let loading: Promise<NonNullable<typeof loaded>> | undefined;
  const load = async (): Promise<NonNullable<typeof loaded>> => {
    const [undici, { rootCertificates }] = await Promise.all([import("undici") as Promise<Undici>, import("node:tls")]);
    const ca = extra && [...rootCertificates, ...extra];
    loaded = {
      direct: new undici.Agent({ ...(ca && { connect: { ca } }), ...(connections && { connections }) }),
      proxied:
        proxy &&
        new undici.ProxyAgent({
          uri: proxy.url,
          ...(connections && { connections }),
          ...(proxy.auth && { token: basicCredentials(proxy.auth) }),
          ...(ca && { requestTls: { ca }, proxyTls: { ca } }),
        }),
    };
    return loaded;
  };

  const send: FetchLike = async (request) => {
    const { direct, proxied } = loaded ?? (await (loading ??= load()));
    const url = new URL(request.url);
    const dispatcher = proxied && !isLoopback(url.hostname) ? proxied : direct;
    const headers: string[] = [];
    request.headers.forEach((value, name) => void headers.push(name, value));
    const signal = givenSignal(request);
    // Text and bytes go as they are (a light request keeps them so); a stream is read ahead.
    const given = LightRequest.takeBody(request);
    let answer: ResponseData;
    try {
      answer = await dispatcher.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: request.method as HttpMethod,
        headers,
        body:
          given === null || typeof given === "string" || given instanceof Uint8Array
            ? given
            : ((await bodyToSend(given)) as Buffer),
        signal,
      });
    } catch (error) {
      // As fetch does: an abort rejects with the signal's reason.
      if (signal?.aborted) throw signal.reason;
      throw error;
    }
    const noBody =
      NULL_BODY.has(answer.statusCode) || request.method === "HEAD" || answer.headers["content-length"] === "0";
    if (noBody) answer.body.dump().catch(() => {});
    // The body is read when the caller asks, straight from undici's readable.
    return new LightResponse(
      answer.statusCode,
      answer.headers,
      noBody ? null : answer.body,
      request.url,
      signal,
    ) as unknown as Response;
  };
  // This fetch never follows a redirect, so requests need no manual mode; openapi-fetch builds light ones.
  return { fetch: send, followsRedirects: "never", Request: LightRequest as unknown as typeof Request };
}
