/**
 * The light request path of the Node transport: a request record that keeps its URL, headers and
 * body as given, and a `Response` over undici's answer that reads its body only when asked, as
 * text, JSON or bytes straight from the socket's chunks. The fetch API's own objects validate every
 * header, wrap every body in a web stream and copy it, which is half of what a call costs on
 * loopback; these do none of that on the common path and become the real thing's equivalent when
 * asked (a stream on `body`, a copy on `clone()`).
 *
 * The response passes `instanceof Response` (its prototype sits on the real one, from the first
 * {@link linkLightClasses}). The request claims no `Request`: only the client's own middleware,
 * its providers and the transport see it; a call with middleware of the application's gets real
 * requests. `instanceof LightRequest` is true of a real `Request` too, since openapi-fetch checks
 * a middleware's returned request against the class it was given.
 */
import { BODY_SOURCE, GIVEN_SIGNAL, HAS_BODY, RELEASE_BODY } from "./bodies.js";
import { scrub } from "../core/redact.js";

type Given = string | Uint8Array | ReadableStream<Uint8Array> | null;
type AnswerBody = import("undici").Dispatcher.ResponseData["body"];
type AnswerHeaders = import("undici").Dispatcher.ResponseData["headers"];

const inspect = Symbol.for("nodejs.util.inspect.custom");
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const usedError = () => new TypeError("Body is unusable: Body has already been read");
const bytesOf = (body: string | Uint8Array) => (typeof body === "string" ? encoder.encode(body) : body);
const streamOf = (body: string | Uint8Array): ReadableStream<Uint8Array> =>
  new ReadableStream({
    start(controller) {
      controller.enqueue(bytesOf(body));
      controller.close();
    },
  });
const copyOf = (bytes: Uint8Array): ArrayBuffer =>
  bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
/** What `blob()` and `formData()` make of the bytes, for requests and responses alike. */
const blobOf = (bytes: Uint8Array, headers: Headers) =>
  new Blob([bytes as Uint8Array<ArrayBuffer>], { type: headers.get("content-type") ?? "" });
const formDataOf = (bytes: Uint8Array, headers: Headers) =>
  new Response(bytes as Uint8Array<ArrayBuffer>, { headers: [...headers] }).formData();

/**
 * A body as a light request keeps it: text and bytes as given; every other kind (Blob, FormData,
 * URLSearchParams, a stream, an async iterable) as the fetch standard extracts it, with its
 * Content-Type (a form's boundary, a Blob's type).
 */
function extract(body: BodyInit | null | undefined): { body: Given; type: string | null } {
  if (body === null || body === undefined) return { body: null, type: null };
  if (typeof body === "string") return { body, type: "text/plain;charset=UTF-8" };
  if (body instanceof Uint8Array) return { body, type: null };
  if (body instanceof ArrayBuffer) return { body: new Uint8Array(body), type: null };
  if (ArrayBuffer.isView(body))
    return { body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength), type: null };
  if (body instanceof ReadableStream) return { body: body as ReadableStream<Uint8Array>, type: null };
  const real = new Response(body as BodyInit);
  return { body: real.body, type: real.headers.get("content-type") };
}

/** The bytes of a light request's body (the given bytes themselves, not a copy). */
async function readAll(body: Given): Promise<Uint8Array> {
  if (body === null) return new Uint8Array(0);
  if (typeof body === "string" || body instanceof Uint8Array) return bytesOf(body);
  return new Uint8Array(await new Response(body).arrayBuffer());
}

const textOf = async (body: Given) => (typeof body === "string" ? body : decoder.decode(await readAll(body)));

/**
 * A `Request` for the Node transport. Constructed by openapi-fetch (as its `Request` option) for
 * every call; the transport sends its body as it was given.
 */
export class LightRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Headers;
  readonly redirect: RequestRedirect;
  #body: Given;
  #used = false;
  #signal: AbortSignal | undefined;

  /** Takes what `new Request(input, init)` takes. */
  constructor(input: string | URL | Request, init: RequestInit = {}) {
    const from = typeof input === "object" && !(input instanceof URL) ? input : undefined;
    this.url = from ? from.url : new URL(input as string | URL).href;
    const method = init.method ?? from?.method ?? "GET";
    this.method = NORMALIZED.get(method.toLowerCase()) ?? method;
    // A Headers object given without a request to copy from is taken as it is: openapi-fetch (and
    // this module's own callers) build a fresh one for each request, so a copy would only cost.
    this.headers = init.headers instanceof Headers && !from ? init.headers : new Headers(init.headers ?? from?.headers);
    this.redirect = init.redirect ?? from?.redirect ?? "follow";
    this.#signal = init.signal ?? (from && LightRequest.#signalOf(from));
    if (init.body !== undefined && init.body !== null) {
      if (this.method === "GET" || this.method === "HEAD")
        throw new TypeError("Request with GET/HEAD method cannot have body.");
      const { body, type } = extract(init.body);
      this.#body = body;
      if (type !== null && !this.headers.has("content-type")) this.headers.set("content-type", type);
    } else if (from && init.body === undefined) {
      this.#body = LightRequest.#isLight(from) ? from.#take() : from.body;
    } else {
      this.#body = null;
    }
  }

  /** True of a light request and of a real `Request`, as openapi-fetch's checks of a middleware's result need. */
  static [Symbol.hasInstance](value: unknown): boolean {
    return (typeof value === "object" && value !== null && #body in value) || value instanceof Request;
  }

  static #isLight(value: object): value is LightRequest {
    return #body in value;
  }

  static #signalOf(request: Request): AbortSignal | undefined {
    return LightRequest.#isLight(request) ? request.#signal : request.signal;
  }

  /**
   * The body as the transport sends it (text, bytes or a stream), taken once; null when there is
   * none. Throws when it was already read.
   */
  static takeBody(request: Request): string | Uint8Array | ReadableStream<Uint8Array> | null {
    if (!LightRequest.#isLight(request)) {
      if (request.bodyUsed) throw usedError();
      return request.body;
    }
    return request.#take();
  }

  #take(): Given {
    if (this.#body === null) return null;
    if (this.bodyUsed) throw usedError();
    this.#used = true;
    return this.#body;
  }

  // What a Node request always has, as getters: no own property per request.
  get cache(): RequestCache {
    return "default";
  }
  get credentials(): RequestCredentials {
    return "same-origin";
  }
  get destination(): RequestDestination {
    return "";
  }
  get integrity(): string {
    return "";
  }
  get keepalive(): boolean {
    return false;
  }
  get mode(): RequestMode {
    return "cors";
  }
  get referrer(): string {
    return "about:client";
  }
  get referrerPolicy(): ReferrerPolicy {
    return "";
  }
  get isHistoryNavigation(): boolean {
    return false;
  }
  get isReloadNavigation(): boolean {
    return false;
  }
  get duplex(): "half" {
    return "half";
  }

  get signal(): AbortSignal {
    return (this.#signal ??= new AbortController().signal);
  }

  get body(): ReadableStream<Uint8Array> | null {
    if (this.#body === null) return null;
    if (!(this.#body instanceof ReadableStream)) {
      const stream = streamOf(this.#body);
      if (this.#used) void stream.cancel();
      this.#body = stream;
    }
    return this.#body;
  }

  get bodyUsed(): boolean {
    return this.#used || (this.#body instanceof ReadableStream && this.#body.locked);
  }

  clone(): LightRequest {
    if (this.bodyUsed) throw new TypeError("Request.clone: Body has already been consumed.");
    const copy = new LightRequest(this.url, {
      method: this.method,
      headers: new Headers(this.headers),
      redirect: this.redirect,
      ...(this.#signal && { signal: this.#signal }),
    });
    if (this.#body instanceof ReadableStream) {
      const [mine, theirs] = this.#body.tee();
      this.#body = mine;
      copy.#body = theirs;
    } else {
      copy.#body = this.#body;
    }
    return copy;
  }

  async text(): Promise<string> {
    return textOf(this.#take());
  }
  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }
  async bytes(): Promise<Uint8Array> {
    const body = this.#take();
    // A copy of bytes the caller gave, as a real Request's would be; text and streams are fresh.
    return body instanceof Uint8Array ? body.slice() : readAll(body);
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    return copyOf(await readAll(this.#take()));
  }
  async blob(): Promise<Blob> {
    return blobOf(await readAll(this.#take()), this.headers);
  }
  async formData(): Promise<FormData> {
    return formDataOf(await readAll(this.#take()), this.headers);
  }

  [HAS_BODY](): boolean {
    return this.#body !== null;
  }
  [RELEASE_BODY](): void {
    if (this.bodyUsed) return;
    this.#used = true;
    if (this.#body instanceof ReadableStream) void this.#body.cancel().catch(() => {});
  }
  [GIVEN_SIGNAL](): AbortSignal | undefined {
    return this.#signal;
  }
  [BODY_SOURCE](): string | Uint8Array | undefined {
    const body = this.#body;
    return this.#used || body === null || body instanceof ReadableStream ? undefined : body;
  }

  /** Never the headers: they hold credentials. */
  [inspect](): string {
    const url = new URL(this.url);
    return `Request { method: '${this.method}', url: '${scrub(url.origin + url.pathname)}' }`;
  }
}

const NORMALIZED = new Map(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"].map((m) => [m.toLowerCase(), m]));

/**
 * A response's headers, over undici's record of them (lower-case names), read-only as a fetched
 * response's are. Iteration is sorted by name, and repeated headers are joined, as `Headers` does.
 */
export class LightHeaders {
  readonly #raw: AnswerHeaders;
  constructor(raw: AnswerHeaders) {
    this.#raw = raw;
  }

  get(name: string): string | null {
    const value = this.#raw[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(", ") : String(value);
  }
  has(name: string): boolean {
    return this.#raw[name.toLowerCase()] !== undefined;
  }
  getSetCookie(): string[] {
    const value = this.#raw["set-cookie"];
    return value === undefined ? [] : Array.isArray(value) ? [...value] : [String(value)];
  }
  *entries(): HeadersIterator<[string, string]> {
    for (const name of Object.keys(this.#raw).sort()) {
      const value = this.#raw[name];
      if (value === undefined) continue;
      if (name === "set-cookie") for (const cookie of this.getSetCookie()) yield [name, cookie];
      else yield [name, Array.isArray(value) ? value.join(", ") : String(value)];
    }
  }
  *keys(): HeadersIterator<string> {
    for (const [name] of this.entries()) yield name;
  }
  *values(): HeadersIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }
  [Symbol.iterator](): HeadersIterator<[string, string]> {
    return this.entries();
  }
  forEach(callback: (value: string, name: string, parent: Headers) => void, thisArg?: unknown): void {
    for (const [name, value] of this.entries()) callback.call(thisArg, value, name, this as unknown as Headers);
  }
  append(): never {
    throw new TypeError("immutable");
  }
  set(): never {
    throw new TypeError("immutable");
  }
  delete(): never {
    throw new TypeError("immutable");
  }
  [inspect](): string {
    return `Headers { ${[...this.keys()].join(", ")} }`;
  }
}

/**
 * A response over undici's answer. Its body is read when asked, from undici's own readable (which
 * concatenates the socket's chunks once); `body` gives the web stream. `signal` is the request's:
 * an abort while the body is read rejects with its reason, as fetch does.
 */
export class LightResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly url: string;
  readonly #raw: AnswerHeaders;
  /** undici's readable until someone asks for a stream (`body`, `clone()`), then that stream. */
  #body: AnswerBody | ReadableStream<Uint8Array> | null;
  readonly #signal: AbortSignal | undefined;
  #read = false;

  constructor(
    status: number,
    headers: AnswerHeaders,
    body: AnswerBody | ReadableStream<Uint8Array> | null,
    url: string,
    signal: AbortSignal | undefined,
  ) {
    this.status = status;
    this.#raw = headers;
    this.headers = new LightHeaders(headers) as unknown as Headers;
    this.#body = body;
    this.url = url;
    this.#signal = signal;
  }

  get ok(): boolean {
    return this.status >= 200 && this.status <= 299;
  }
  get statusText(): string {
    return "";
  }
  get redirected(): boolean {
    return false;
  }
  get type(): ResponseType {
    return "basic";
  }

  get body(): ReadableStream<Uint8Array> | null {
    const body = this.#body;
    if (body === null || body instanceof ReadableStream) return body;
    return (this.#body = (body as unknown as { body: ReadableStream<Uint8Array> }).body);
  }

  get bodyUsed(): boolean {
    const body = this.#body;
    return this.#read || (body instanceof ReadableStream ? body.locked : body !== null && body.bodyUsed);
  }

  /** Reads the body as `kind`, once; undici's readable reads (and for JSON parses) it itself. */
  #consume<T>(kind: "text" | "json" | "bytes" | "arrayBuffer", empty: () => T): Promise<T> {
    if (this.bodyUsed) return Promise.reject(usedError());
    this.#read = true;
    const body = this.#body;
    if (body === null) return Promise.resolve().then(empty);
    const reading = (body instanceof ReadableStream ? new Response(body)[kind]() : body[kind]()) as Promise<T>;
    const signal = this.#signal;
    // As fetch does: an abort while the body arrives rejects with the signal's reason.
    return signal ? reading.catch((error: unknown) => Promise.reject(signal.aborted ? signal.reason : error)) : reading;
  }

  text(): Promise<string> {
    return this.#consume("text", () => "");
  }
  json(): Promise<unknown> {
    return this.#consume("json", () => JSON.parse(""));
  }
  bytes(): Promise<Uint8Array> {
    return this.#consume("bytes", () => new Uint8Array(0));
  }
  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#consume("arrayBuffer", () => new ArrayBuffer(0));
  }
  async blob(): Promise<Blob> {
    return blobOf(await this.bytes(), this.headers);
  }
  async formData(): Promise<FormData> {
    return formDataOf(await this.bytes(), this.headers);
  }

  /** The copy and this response each read one half of the body, as with a real `Response`. */
  clone(): LightResponse {
    if (this.bodyUsed) throw new TypeError("Response.clone: Body has already been consumed.");
    const stream = this.body;
    let theirs: ReadableStream<Uint8Array> | null = null;
    if (stream !== null) [this.#body, theirs] = stream.tee();
    return new LightResponse(this.status, this.#raw, theirs, this.url, this.#signal);
  }

  [HAS_BODY](): boolean {
    return this.#body !== null;
  }
  [RELEASE_BODY](): void {
    const body = this.#body;
    if (this.bodyUsed || body === null) return;
    this.#read = true;
    if (body instanceof ReadableStream) void body.cancel().catch(() => {});
    else body.dump().catch(() => {});
  }

  [inspect](): string {
    return `Response { status: ${this.status}, url: '${scrub(this.url.split("?")[0]!)}' }`;
  }
}

let linked = false;

/**
 * Puts the light response's and headers' prototypes on the real ones, so that `instanceof Response`
 * and `Headers` hold. Done when the first transport is made, not at import: the first touch of
 * Node's `Request` loads its whole fetch implementation (tens of milliseconds). The light request
 * claims no `Request`: Node's `new Request(request, init)` reads a real one's internal state, so
 * the client gives code of the application's (its middleware) real requests instead.
 */
export function linkLightClasses(): void {
  if (linked) return;
  Object.setPrototypeOf(LightHeaders.prototype, Headers.prototype);
  Object.setPrototypeOf(LightResponse.prototype, Response.prototype);
  linked = true;
}
