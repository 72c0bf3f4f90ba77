/**
 * Request bodies: read with a cap, parsed with a nesting limit, and the unread rest of a refused
 * request drained so the client always reads its answer and can reuse the connection.
 */
import type { IncomingMessage } from "node:http";
import { HttpError } from "../http-error.js";

/** The largest request body read. */
export const MAX_BODY = 16 * 1024 * 1024;
/**
 * The deepest nesting a JSON body may have. ML Server's inputs are at most three levels deep (a
 * data frame's columns); a deeper value only serves to exhaust a parser's or Python's stack.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * How much of a refused request's body is read and thrown away, for how long in all, and for how
 * long with nothing arriving, before its connection is cut (nginx lingers 30 s and 5 s).
 */
const DRAIN_BYTES = 256 * 1024 * 1024;
const DRAIN_MS = 30_000;
const DRAIN_IDLE_MS = 5000;

/**
 * Reads and drops the unread rest of a request answered early (a 401 before its body, a 413), so
 * the connection stays usable: a client that writes its whole body before reading its answer
 * (Python's `requests`, Node's `http`) finishes writing and reads it, and a client reusing the
 * connection gets an answer to its next request. Answering `Connection: close` instead does not
 * work on Node: its server destroys the socket once the answer is flushed, and the reset that the
 * unread body then causes can destroy the answer before the client reads it. A body past the size
 * or time bound has its connection cut.
 */
export function drainUnread(req: IncomingMessage): void {
  let discarded = 0;
  const cut = () => {
    clearTimeout(total);
    clearTimeout(idle);
    req.socket.destroy();
  };
  const total = setTimeout(cut, DRAIN_MS).unref();
  const idle = setTimeout(cut, DRAIN_IDLE_MS).unref();
  req.removeAllListeners("data");
  req.on("data", (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > DRAIN_BYTES) return cut();
    idle.refresh();
  });
  req.once("end", () => {
    clearTimeout(total);
    clearTimeout(idle);
  });
  req.resume();
}

/** A request's body, or `undefined` once it passes MAX_BODY (the rest is then left unread). */
export function readBody(req: IncomingMessage): Promise<Buffer<ArrayBuffer> | undefined> {
  // Events rather than for-await: leaving a for-await loop destroys the socket, and the 413 with it.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) return void chunks.push(chunk);
      req.pause();
      req.off("data", onData);
      resolve(undefined);
    };
    req.on("data", onData);
    req.once("end", () => resolve(Buffer.concat(chunks)));
    req.once("error", reject);
  });
}

/**
 * How deeply `text`'s arrays and objects nest, scanning (outside strings) only until `limit` is
 * passed: linear, with no recursion, so no text can exhaust the stack that measures it.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** The body as JSON: a 400 when it is not JSON or nests deeper than MAX_JSON_DEPTH. */
export function parseJson(raw: Buffer): unknown {
  const text = raw.toString("utf8");
  if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
    throw new HttpError(
      400,
      `the body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep, the dev server's limit`,
      "RequestValidationException",
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, "the body is not valid JSON", "RequestValidationException");
  }
}
