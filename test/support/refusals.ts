import type { DevServer } from "../../devserver/server.js";

/** One 401 the server sent on an API call, judged from the refused JWT and the time it was sent. */
export interface Refusal {
  /** The token's `exp` was still ahead when the request left the client. */
  validWhenSent: boolean;
  /** A renewal (which rotates the pair) happened while the request was in flight. */
  rotatedMeanwhile: boolean;
}

/**
 * A fetch (below the client's transport, so it sees each request as sent, resends included) that
 * records every 401 on an API call. What the client guarantees under any load: it never sends a
 * token it knows to be expired, so every refusal is of a token that was valid when sent and then
 * lapsed or was rotated away in flight; and it resends such a call once.
 */
export function observeRefusals(
  server: DevServer,
  inner: typeof fetch = fetch,
): { fetch: typeof fetch; refusals: Refusal[] } {
  const refusals: Refusal[] = [];
  const observing: typeof fetch = async (input, init) => {
    const request = input as Request;
    const isApi = !new URL(request.url).pathname.startsWith("/login");
    const sentAt = Date.now();
    const renewalsAtSend = server.counters.renewals;
    const token = /^Bearer (.+)$/.exec(request.headers.get("authorization") ?? "")?.[1];
    const response = await inner(input, init);
    if (isApi && response.status === 401 && token) {
      const { exp } = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { exp: number };
      refusals.push({
        validWhenSent: exp * 1000 > sentAt,
        rotatedMeanwhile: server.counters.renewals > renewalsAtSend,
      });
    }
    return response;
  };
  return { fetch: observing, refusals };
}
