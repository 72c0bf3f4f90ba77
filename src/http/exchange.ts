/**
 * The pipeline's own record of one call: what the layers learnt about it (its operation, whether
 * it is a token call, the retries it took, the request to resend after a 401) and the one copy of
 * its body kept for a resend. It rides on the call's requests, and on an answer that took retries,
 * under one symbol, so that every layer finds the same record whichever request object it holds.
 */
import { bodySource, discardBody, hasBody } from "./bodies.js";

const EXCHANGE: unique symbol = Symbol("mlserver-client.exchange");
type Carrier = { [EXCHANGE]?: Exchange };

/**
 * One call as the pipeline sees it. `request` is the request the next policy sends (a redirect hop
 * or a retry replaces it); the body is copied at most once per call, whatever number of layers may
 * send it again.
 */
export class Exchange {
  request: Request;
  /** Extra options for the fetch at the end (such as an undici `dispatcher`), passed through. */
  init: RequestInit | undefined;
  /** The operation's path template (`/services/{name}`), named by the client's middleware. */
  operation: string | undefined;
  /** A token or revoke call: never followed to another origin, never retried, never in a client span. */
  tokenCall = false;
  /** How many retries the retry policy took. */
  retries = 0;
  /** The request as the application's middleware left it, before credentials: what a 401 resends. */
  pristine: Request | undefined;
  #holds = 0;
  #source: string | Uint8Array | undefined;
  #copy: Request | undefined;

  private constructor(request: Request) {
    this.request = request;
  }

  /** The record riding on `request` (made and attached if it has none), now sending `request`. */
  static of(request: Request, init?: RequestInit): Exchange {
    let exchange = (request as Carrier)[EXCHANGE];
    if (exchange === undefined) (request as Carrier)[EXCHANGE] = exchange = new Exchange(request);
    exchange.request = request;
    exchange.init = init;
    return exchange;
  }

  /** The record riding on `message`, if any. */
  static find(message: Request | Response): Exchange | undefined {
    return (message as Carrier)[EXCHANGE];
  }

  /** Puts this record on `message` (a resend, a hop, an answer); returns `message`. */
  carry<M extends Request | Response>(message: M): M {
    (message as Carrier)[EXCHANGE] = this;
    return message;
  }

  /**
   * Keeps what sending the call's body again needs, for a layer that may resend it: text or bytes
   * the caller gave are kept as they are; any other body is copied (a stream teed) the first time
   * any layer asks, and never again. Each `hold` is matched by one {@link letGo}.
   */
  hold(request: Request): void {
    this.#holds++;
    if (this.#source !== undefined || this.#copy !== undefined || !hasBody(request)) return;
    this.#source = bodySource(request);
    if (this.#source === undefined) this.#copy = request.clone();
  }

  /** A layer no longer needs the body; the last one to let go releases the copy. */
  letGo(): void {
    if (--this.#holds > 0) return;
    if (this.#copy) discardBody(this.#copy);
    this.#copy = undefined;
    this.#source = undefined;
  }

  /**
   * The call's body, to send once more: the text or bytes kept, or the copy read once into bytes
   * (which every later resend shares). Null when the call has none, or nobody held it.
   */
  async bodyAgain(): Promise<BodyInit | null> {
    const copy = this.#copy;
    if (copy !== undefined) {
      this.#copy = undefined;
      this.#source = new Uint8Array(await copy.arrayBuffer());
    }
    return (this.#source as BodyInit | undefined) ?? null;
  }

  /** `like` (URL, method, headers, signal) with the call's body again, carrying this record. */
  async again(like: Request): Promise<Request> {
    const body = await this.bodyAgain();
    const Make = like.constructor as typeof Request;
    return this.carry(body === null ? new Make(like) : new Make(like, { body }));
  }
}

/** Marks `request` as a token or revoke call (see {@link Exchange.tokenCall}); returns it. */
export function asTokenCall(request: Request): Request {
  Exchange.of(request).tokenCall = true;
  return request;
}

/**
 * How many retries the call that got `response` took (0 when it was answered at the first
 * attempt), e.g. to log calls that needed them.
 *
 * @example
 * ```ts
 * const { data, response } = await client.GET("/status");
 * if (retriesOf(response) > 0) console.warn(`GET /status took ${retriesOf(response)} retries`);
 * ```
 */
export function retriesOf(response: Response): number {
  return Exchange.find(response)?.retries ?? 0;
}
