/**
 * One request's answer: recorded for tests, counted, with CORS and `WWW-Authenticate` headers, and
 * bodies in ML Server's error shape. A request refused before its body was read has the rest of
 * its body drained, so a client reusing connections gets an answer to its next request.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { DevState } from "../state.js";
import { drainUnread } from "./body.js";

export class Exchange {
  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly state: DevState,
    /** The route as a template (never the raw path: a raw path may hold a token). */
    private readonly route: string,
    /** Whether the operation needs a token (its 401s count as refused API calls). */
    private readonly secured: boolean,
    private readonly headers: Record<string, string>,
  ) {}

  send(status: number, body?: unknown, extraHeaders: Record<string, string> = {}): void {
    const { req, res, state } = this;
    const headers = { ...this.headers, ...extraHeaders };
    if (status === 401) {
      state.server.counters.unauthorized++;
      if (this.secured) state.server.counters.unauthorizedApiCalls++;
      // RFC 6750 section 3: say which scheme is wanted, and that a token sent was not accepted.
      headers["www-authenticate"] = req.headers.authorization
        ? 'Bearer realm="mlserver", error="invalid_token"'
        : 'Bearer realm="mlserver"';
    }
    const requests = state.server.requests;
    if (requests.length >= 10_000) requests.shift();
    requests.push({
      method: req.method ?? "",
      route: this.route,
      hadAuthorization: req.headers.authorization !== undefined,
      status,
    });
    const binary = Buffer.isBuffer(body);
    const payload = binary ? body : body === undefined ? "" : JSON.stringify(body);
    // An empty body gets no content type: an empty "JSON" body is not valid JSON.
    res.writeHead(status, {
      ...(body !== undefined && {
        "content-type": binary ? "application/octet-stream" : "application/json; charset=utf-8",
      }),
      "content-length": Buffer.byteLength(payload),
      ...headers,
    });
    res.end(payload);
  }

  fail(
    status: number,
    message: string,
    exceptionType = "DevServerException",
    headers: Record<string, string> = {},
  ): void {
    this.send(status, { message, exceptionType }, headers);
  }

  /**
   * Answers before the body was read (or past its cap); the rest of the body is drained, for a
   * bounded time and size.
   */
  refuseUnread(status: number, message: string, exceptionType: string): void {
    this.fail(status, message, exceptionType);
    if (!this.req.complete) drainUnread(this.req);
  }
}
