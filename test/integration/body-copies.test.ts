/**
 * A call's body is copied at most once, and only when it may be sent again: a 401 resend, a retry
 * and a 307 of the same call share one copy; text and bytes on the Node transport are never copied;
 * a call nothing can resend copies nothing. Copies are counted where they happen: `clone()` of a
 * request, and `tee()` of a body stream (a clone of a real `Request` tees its stream). Over real
 * HTTP on loopback, against a server that answers 401, then 503, then 307, then 200.
 */
import type { Middleware } from "openapi-fetch";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { bearer, createMlServerClient } from "../../src/index.js";
import { LightRequest } from "../../src/http/light.js";
import { hostileServers } from "../support/hostile.js";

const hostile = hostileServers();
const WORKSPACE = "/sessions/{id}/workspace/{objectName}" as const;
const path = { params: { path: { id: "s", objectName: "o" } } };
const TEXT = "payload ".repeat(1000);

let spies: { clone: (() => number)[]; tee: () => number } | undefined;
beforeEach(() => {
  // Spies call through: they only count.
  const calls = (spy: { mock: { calls: unknown[] } }) => () => spy.mock.calls.length;
  spies = {
    clone: [calls(vi.spyOn(Request.prototype, "clone")), calls(vi.spyOn(LightRequest.prototype, "clone"))],
    tee: calls(vi.spyOn(ReadableStream.prototype, "tee")),
  };
});
afterEach(() => void vi.restoreAllMocks());
/** Copies made so far in this test: request clones and stream tees. */
const copies = () => ({ clone: spies!.clone.reduce((sum, count) => sum + count(), 0), tee: spies!.tee() });

const stream = (text: string) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      const bytes = new TextEncoder().encode(text);
      controller.enqueue(bytes.subarray(0, 100));
      controller.enqueue(bytes.subarray(100));
      controller.close();
    },
  });

/** A server that answers PUTs 401, then 503, then 307 to /here, then 200; a provider that renews. */
async function everyResend() {
  const answers = [401, 503, 307];
  const server = await hostile((req, res) => {
    const status = req.method === "PUT" ? answers.shift() : undefined;
    if (status === 307) return void res.writeHead(307, { location: req.url.replace("/o", "/here") }).end();
    if (status !== undefined) return void res.writeHead(status, { "retry-after": "0" }).end();
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ length: req.body.length }));
  });
  // Renews after a 401 (asks the callback again); the library's own, so requests stay light.
  let token = 0;
  const auth = bearer(() => ({ token: `t${++token}`, expiresAt: Date.now() + 3_600_000 }));
  const client = createMlServerClient({ baseUrl: server.url, auth, retry: { baseDelayMs: 1 } });
  const put = (body: unknown) =>
    client.request("put" as "post", WORKSPACE, { ...path, body: body as never, bodySerializer: (b) => b });
  return { server, client, put };
}

describe("a body sent four times (401 resend, retry after 503, 307) is copied at most once", () => {
  for (const [kind, body] of [
    ["text", () => TEXT],
    ["bytes", () => new TextEncoder().encode(TEXT)],
  ] as const) {
    it(`${kind} on the Node transport: never copied`, async () => {
      const { server, put } = await everyResend();
      const { data } = await put(body());
      expect(data).toEqual({ length: TEXT.length });
      expect(server.received.map((r) => r.body === TEXT)).toEqual([true, true, true, true]);
      const authorization = server.received.map((r) => r.headers.authorization);
      expect(authorization).toEqual(["Bearer t1", ...Array(3).fill("Bearer t2")]);
      expect(copies()).toEqual({ clone: 0, tee: 0 });
    });
  }

  it("a stream on the Node transport: one copy", async () => {
    const { server, put } = await everyResend();
    const { data } = await put(stream(TEXT));
    expect(data).toEqual({ length: TEXT.length });
    expect(server.received.map((r) => r.body === TEXT)).toEqual([true, true, true, true]);
    expect(copies()).toEqual({ clone: 1, tee: 1 });
  });

  for (const [kind, body] of [
    ["text", () => TEXT],
    ["a stream", () => stream(TEXT)],
  ] as const) {
    it(`${kind}, with middleware of the application's (real Requests): one copy`, async () => {
      const { server, client, put } = await everyResend();
      const middleware: Middleware = {
        onRequest: ({ request }) => new Request(request, { headers: { "x-app": "1" } }),
      };
      client.use(middleware);
      const { data } = await put(body());
      expect(data).toEqual({ length: TEXT.length });
      expect(server.received.map((r) => r.body === TEXT && r.headers["x-app"] === "1")).toEqual([
        true,
        true,
        true,
        true,
      ]);
      // One clone of a real Request; Node's own clone tees its stream, through the public `tee` on
      // some Node versions (20, 22) and not on others (26).
      expect(copies().clone).toBe(1);
      expect(copies().tee).toBeLessThanOrEqual(1);
    });
  }
});

describe("a call that nothing can send again copies nothing", () => {
  it("a POST (not retried) with a fixed bearer token and redirect: manual, stream body", async () => {
    const server = await hostile((req, res) => void res.writeHead(200).end(String(req.body.length)));
    const client = createMlServerClient({ baseUrl: server.url, auth: bearer("t") });
    const { response } = await client.POST(WORKSPACE, {
      ...path,
      body: stream(TEXT) as never,
      bodySerializer: (b) => b,
      redirect: "manual",
      parseAs: "text",
    });
    expect(await response.status).toBe(200);
    expect(server.received[0]!.body).toBe(TEXT);
    expect(copies()).toEqual({ clone: 0, tee: 0 });
  });
});
