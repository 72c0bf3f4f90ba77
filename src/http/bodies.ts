/**
 * Bodies and signals of requests and responses, read without making them more than they are. The
 * light request and response of the Node transport (`light.ts`, beside this file) keep a body as
 * given (text or bytes) and turn it into a web stream only when someone asks for `body`; the
 * pipeline asks these questions through the hooks below, which cost nothing on either kind. The
 * hooks stay inside this layer: the browser build, which has no light objects, never loads them.
 */

/** Hook of a light request or response: `() => boolean`, whether there is a body, without making it a stream. */
export const HAS_BODY: unique symbol = Symbol("mlserver-client.hasBody");
/** Hook of a light request or response: `() => void`, releases a body nobody will read. */
export const RELEASE_BODY: unique symbol = Symbol("mlserver-client.releaseBody");
/** Hook of a light request: `() => AbortSignal | undefined`, the signal it was given, if any. */
export const GIVEN_SIGNAL: unique symbol = Symbol("mlserver-client.givenSignal");

/**
 * Hook of a light request: `() => string | Uint8Array | undefined`, the text or bytes it was given
 * (the Fetch standard's body source), which can be sent again without a copy.
 */
export const BODY_SOURCE: unique symbol = Symbol("mlserver-client.bodySource");

/** What a light request or response adds; a real one has none of it. */
interface Hooked {
  [HAS_BODY]?: () => boolean;
  [RELEASE_BODY]?: () => void;
  [GIVEN_SIGNAL]?: () => AbortSignal | undefined;
  [BODY_SOURCE]?: () => string | Uint8Array | undefined;
}

/** Whether `message` has a body (which a resend or a retry must keep a copy of). */
export function hasBody(message: Request | Response): boolean {
  const has = (message as unknown as Hooked)[HAS_BODY];
  return has ? has.call(message) : message.body !== null;
}

/** Releases a body that will never be read or sent (safe on a used or locked body). */
export function discardBody(message: Request | Response): void {
  const release = (message as unknown as Hooked)[RELEASE_BODY];
  if (release) return release.call(message);
  const body = message.body;
  if (body && !message.bodyUsed && !body.locked) void body.cancel().catch(() => {});
}

/**
 * The signal a request was given, or undefined when it was given none. A real `Request` always
 * has one of its own; a light one makes one only when asked, and this never asks.
 */
export function givenSignal(request: Request): AbortSignal | undefined {
  const given = (request as unknown as Hooked)[GIVEN_SIGNAL];
  return given ? given.call(request) : request.signal;
}

/**
 * The text or bytes `request`'s body was made from, when it can be sent again as it is (a light
 * request's unread text or bytes); undefined for a stream, a real `Request` or no body.
 */
export function bodySource(request: Request): string | Uint8Array | undefined {
  return (request as unknown as Hooked)[BODY_SOURCE]?.call(request);
}
