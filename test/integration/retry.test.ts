/**
 * Retries against the dev server's fault injection (dropped connections, 503 with and without
 * Retry-After, 429), with an injected clock and sleep where timing matters, and one test in real
 * time: idempotent methods only unless opted in, bodies resent intact, credential checks on every
 * attempt, 401s left to the auth layer, the caller's signal obeyed at once, bounded attempts and time.
 */
import { getEventListeners } from "node:events";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../devserver/server.js";
import { createMlServerClient, mlServerLogin, retriesOf, type RetryOptions } from "../../src/index.js";
import { retryAfterMs } from "../../src/building-blocks.js";
import { startHostile, type HostileServer } from "../support/hostile.js";

const USER = { username: "admin", password: "Admin-Pa55word!" };
let server: DevServer;
beforeAll(async () => {
  server = await startDevServer();
});
afterAll(() => server.close());
afterEach(() => {
  server.faults.length = 0;
});

/** A fake clock whose sleeps advance it at once, recording each wait. */
function fakeTime() {
  let now = 1_700_000_000_000;
  const waits: number[] = [];
  const options: RetryOptions = {
    clock: () => now,
    random: () => 0.5,
    sleep: async (ms, signal) => {
      signal?.throwIfAborted();
      waits.push(ms);
      now += ms;
    },
  };
  return { options, waits, now: () => now };
}

const client = (retry: RetryOptions | false) =>
  createMlServerClient({ baseUrl: server.url, auth: mlServerLogin(USER), retry });
const statusRoute = "GET /status";

describe("retries", () => {
  it(
    "retries a GET after a 503 with exponential backoff and full jitter, and reports the retries it " + "took",
    async () => {
      const time = fakeTime();
      const api = client({ ...time.options, baseDelayMs: 100 });
      await api.GET("/status"); // signed in
      server.faults.push({ route: statusRoute, kind: "status", status: 503, times: 3 });
      const { response } = await api.GET("/status");
      expect(response.status).toBe(200);
      expect(retriesOf(response)).toBe(3);
      // random() = 0.5 of 100, 200, 400 ms.
      expect(time.waits).toEqual([50, 100, 200]);
    },
  );

  it("gives up after the bounded attempts and returns the last answer", async () => {
    const time = fakeTime();
    server.faults.push({ route: statusRoute, kind: "status", status: 502 });
    const { response } = await client({ ...time.options, retries: 2 }).GET("/status");
    expect(response.status).toBe(502);
    expect(retriesOf(response)).toBe(2);
    expect(time.waits).toHaveLength(2);
  });

  it("honours Retry-After in seconds and as an HTTP date, capped by maxRetryAfterMs", async () => {
    const time = fakeTime();
    const api = client({ ...time.options, maxRetryAfterMs: 5_000 });
    await api.GET("/status");
    server.faults.push({ route: statusRoute, kind: "status", status: 429, times: 1, headers: { "retry-after": "2" } });
    expect((await api.GET("/status")).response.status).toBe(200);
    server.faults.push({
      route: statusRoute,
      kind: "status",
      status: 503,
      times: 1,
      headers: { "retry-after": new Date(time.now() + 3_000).toUTCString() },
    });
    expect((await api.GET("/status")).response.status).toBe(200);
    server.faults.push({
      route: statusRoute,
      kind: "status",
      status: 503,
      times: 1,
      headers: { "retry-after": "3600" },
    });
    expect((await api.GET("/status")).response.status).toBe(200);
    // 2 s; an HTTP date 3 s away (whole seconds, so 2-3 s); an hour, cut to 5 s.
    expect(time.waits[0]).toBe(2_000);
    expect(time.waits[1]).toBeGreaterThan(1_999);
    expect(time.waits[1]).toBeLessThanOrEqual(3_000);
    expect(time.waits[2]).toBe(5_000);
    expect(retryAfterMs("soon", 0)).toBeUndefined();
  });

  it("stops when the total time would pass maxElapsedMs", async () => {
    const time = fakeTime();
    server.faults.push({ route: statusRoute, kind: "status", status: 503, headers: { "retry-after": "4" } });
    const { response } = await client({ ...time.options, retries: 10, maxElapsedMs: 10_000 }).GET("/status");
    expect(response.status).toBe(503);
    expect(time.waits).toEqual([4_000, 4_000]); // a third wait would end past 10 s
  });

  it("retries a dropped connection (a network error) and then succeeds", async () => {
    const time = fakeTime();
    const api = client(time.options);
    await api.GET("/status");
    server.faults.push({ route: statusRoute, kind: "drop", times: 2 });
    const { response } = await api.GET("/status");
    expect(response.status).toBe(200);
    expect(retriesOf(response)).toBe(2);
  });

  it("does not retry POST unless opted in, per client or per operation", async () => {
    const time = fakeTime();
    const route = "POST /services/{name}/{version}";
    const body = { code: "y = 1", runtimeType: "Python" as const };
    const publish = (api: ReturnType<typeof client>, version: string) =>
      api.POST("/services/{name}/{version}", { params: { path: { name: "retry-post", version } }, body });
    server.faults.push({ route, kind: "status", status: 503, times: 1 });
    expect((await publish(client(time.options), "1")).response.status).toBe(503);
    server.faults.push({ route, kind: "status", status: 503, times: 1 });
    expect((await publish(client({ ...time.options, retryPost: true }), "2")).response.status).toBe(201);
    server.faults.push({ route, kind: "status", status: 503, times: 1 });
    expect((await publish(client({ ...time.options, operations: { [route]: true } }), "3")).response.status).toBe(201);
    // And an operation can be opted out of a method's default.
    server.faults.push({ route: statusRoute, kind: "status", status: 503, times: 1 });
    expect(
      (await client({ ...time.options, operations: { [statusRoute]: false } }).GET("/status")).response.status,
    ).toBe(503);
  });

  it("never counts a 401 as a retry: the auth layer renews and resends once", async () => {
    const time = fakeTime();
    const api = client(time.options);
    await api.GET("/status");
    server.resetCounters();
    server.faults.push({ route: statusRoute, kind: "status", status: 401, times: 1 });
    const { response } = await api.GET("/status");
    expect(response.status).toBe(200);
    expect(time.waits).toEqual([]);
    expect(server.counters.renewals).toBe(1);
  });

  it("retry: false turns retries off", async () => {
    server.faults.push({ route: statusRoute, kind: "status", status: 503, times: 1 });
    expect((await client(false).GET("/status")).response.status).toBe(503);
  });

  it("stops waiting at once when the caller's signal aborts", async () => {
    server.faults.push({ route: statusRoute, kind: "status", status: 503, headers: { "retry-after": "30" } });
    const controller = new AbortController();
    const started = Date.now();
    const call = client({}).GET("/status", { signal: controller.signal });
    setTimeout(() => controller.abort(new Error("caller gave up")), 200);
    await expect(call).rejects.toThrow("caller gave up");
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("in real time: a 503 with Retry-After: 1 is retried about a second later", async () => {
    const api = client({});
    await api.GET("/status");
    server.faults.push({ route: statusRoute, kind: "status", status: 503, times: 1, headers: { "retry-after": "1" } });
    const started = performance.now();
    const { response } = await api.GET("/status");
    const elapsed = performance.now() - started;
    expect(response.status).toBe(200);
    expect(retriesOf(response)).toBe(1);
    expect(elapsed).toBeGreaterThanOrEqual(990);
  });

  it("waits on a long-lived signal leave no abort listener behind", async () => {
    const api = client({ baseDelayMs: 1 });
    await api.GET("/status");
    const app = new AbortController();
    const listeners: number[] = [];
    for (let call = 0; call < 4; call++) {
      server.faults.push({ route: statusRoute, kind: "status", status: 503, times: 2 });
      const { response } = await api.GET("/status", { signal: app.signal });
      expect(retriesOf(response)).toBe(2);
      listeners.push(getEventListeners(app.signal, "abort").length);
    }
    // No more after four calls of two retries each than after one (undici holds one for the last
    // request it sent); each wait used to leave one, until Node warned of a leak.
    expect(listeners).toEqual(Array(4).fill(listeners[0]));
    expect(listeners[0]).toBeLessThanOrEqual(1);
  });
});

describe("retried requests, seen by a server that records them", () => {
  let recorder: HostileServer;
  let answers: number[] = [];
  beforeAll(async () => {
    recorder = await startHostile((_request, response) => {
      response.writeHead(answers.shift() ?? 200, { "content-type": "application/json" });
      response.end("{}");
    });
  });
  afterAll(() => recorder.close());

  it("resends the body intact, with the credentials checked and set on every attempt", async () => {
    answers = [503, 502, 200];
    recorder.received.length = 0;
    const time = fakeTime();
    const api = createMlServerClient({
      baseUrl: recorder.url,
      auth: { authorize: (request) => void request.headers.set("authorization", "Bearer static-token") },
      retry: time.options,
    });
    const big = "x".repeat(256 * 1024);
    const { response } = await api
      .PATCH("/services/{name}/{version}", {
        params: { path: { name: "n", version: "1" } },
        body: { description: big },
      })
      .catch(() => ({ response: undefined }));
    // PATCH is not idempotent by default: one attempt.
    expect(response?.status).toBe(503);
    expect(recorder.received).toHaveLength(1);
    answers = [503, 502, 200];
    recorder.received.length = 0;
    const put = createMlServerClient({
      baseUrl: recorder.url,
      auth: { authorize: (request) => void request.headers.set("authorization", "Bearer static-token") },
      retry: { ...time.options, methods: ["PATCH"] },
    });
    const ok = await put.PATCH("/services/{name}/{version}", {
      params: { path: { name: "n", version: "1" } },
      body: { description: big },
    });
    expect(ok.response.status).toBe(200);
    expect(recorder.received).toHaveLength(3);
    for (const r of recorder.received) {
      expect(JSON.parse(r.body)).toEqual({ description: big });
      expect(r.headers.authorization).toBe("Bearer static-token");
    }
  });
});
