/**
 * `GET /_devserver/counters` answers the counters as JSON, `DELETE` resets them: for tests and
 * benchmarks in other processes. Outside the API's paths, not counted, and for loopback peers only.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { DevState } from "../state.js";
import { COUNTERS_ROUTE } from "../types.js";

export const isCountersRoute = (url: string | undefined): boolean =>
  url === COUNTERS_ROUTE || url?.startsWith(`${COUNTERS_ROUTE}?`) === true;

export function serveCounters(state: DevState, req: IncomingMessage, res: ServerResponse): void {
  const peer = req.socket.remoteAddress ?? "";
  const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  };
  req.resume();
  if (!/^(127\.|::1$|::ffff:127\.)/.test(peer))
    return answer(403, { message: "the counters are served to loopback peers only" });
  const { authority } = state;
  if (req.method === "GET")
    return answer(200, { ...state.server.counters, sessions: authority.sessionCount, refusals: authority.refusals });
  if (req.method === "DELETE") {
    state.server.resetCounters();
    return answer(200, { ...state.server.counters, sessions: authority.sessionCount });
  }
  answer(405, { message: "the counters route takes GET or DELETE" }, { allow: "GET, DELETE" });
}
