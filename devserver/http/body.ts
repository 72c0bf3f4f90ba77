/**
 * Request bodies: read with a cap, parsed with a nesting limit, and the unread rest of a refused
 * request drained so the client always reads its answer.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { HttpError } from "../http-error.js";

/** The largest request body read. */
export const MAX_BODY = 16 * 1024 * 1024;
/**
 * The deepest nesting a JSON body may have. ML Server's inputs are at most three levels deep (a
 * data frame's columns); a deeper value only serves to exhaust a parser's or Python's stack.
 */
export const MAX_JSON_DEPTH = 64;

/** How much of a refused request's body is read and thrown away, and for how long, before its connection is cut. */
const LINGER_BYTES = 16 * 1024 * 1024;
const LINGER_MS = 2000;

/**
 * A lingering close, as web servers do it: the answer (which says `Connection: close`) is sent,
 * the connection half-closed, and what the client still sends is read and dropped, for a bounded
 * time and size. Cutting at once would reset the connection, and a reset can destroy the answer
 * before the client reads it.
 */
export function lingeringClose(req: IncomingMessage, res: ServerResponse): void {
  let discarded = 0;
  const cut = () => req.socket.destroy();
  const timer = setTimeout(cut, LINGER_MS).unref();
  req.removeAllListeners("data");
  req.on("data", (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > LINGER_BYTES) cut();
  });
  req.once("end", () => clearTimeout(timer));
  res.once("finish", () => req.socket.end());
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
      if (c === 0x5c) i++; // a backslash escapes the next character
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
    throw new HttpError(400, `the body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep, the dev server's limit`, "RequestValidationException");
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, "the body is not valid JSON", "RequestValidationException");
  }
}
