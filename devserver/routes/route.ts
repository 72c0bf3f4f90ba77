/** What a route handler gets and gives: the parsed request in, a status and a body out. */
import type { DevState } from "../state.js";

export interface RouteContext {
  state: DevState;
  /** Path parameters, decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** The JSON body (checked against the API description), or `undefined`. */
  body: Record<string, unknown>;
  form: FormData | undefined;
  raw: Buffer;
  /** The signed-in caller; empty for public operations. */
  user: string;
  /** The server's own URL, for `Location`-style answers. */
  base: string;
}

/** A status and a body (JSON, or a Buffer sent as bytes); a failure throws `HttpError`. */
export type RouteAnswer = [number, unknown?];
export type Handler = (ctx: RouteContext) => Promise<RouteAnswer> | RouteAnswer;
/** An area's handlers, by the operation id of the API description. */
export type RouteTable = Record<string, Handler>;
