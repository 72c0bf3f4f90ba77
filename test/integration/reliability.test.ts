import { createServer } from "node:http";
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../devserver/server.js";
import {
  createMlServerClient,
  mlServerLogin,
  MlServerClientError,
  type MlServerLoginOptions,
} from "../../src/index.js";
import { parseTokenResponse } from "../../src/auth/token-set.js";
import { SecretHygiene } from "../support/hygiene.js";
import { settledHeap } from "../support/heap.js";
import { observeRefusals } from "../support/refusals.js";
import { TEST_PYTHON } from "../support/python.js";

const USER = { username: "admin", password: "Admin-Pa55word!" };
const hygiene = new SecretHygiene();
hygiene.secret(USER.password);
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => void process.on("unhandledRejection", onUnhandled));
afterAll(() => void process.off("unhandledRejection", onUnhandled));

let servers: DevServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});
async function server(options: Parameters<typeof startDevServer>[0] = {}) {
  const s = await startDevServer(options);
  servers.push(s);
  return s;
}
const client = (s: DevServer, options: Partial<MlServerLoginOptions> = {}) =>
  createMlServerClient({
    baseUrl: s.url,
    auth: mlServerLogin({ ...USER, retryDelayMs: 20, ...options }),
    fetch: hygiene.fetch(),
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every API call the server saw carried credentials: nothing was ever sent without them. */
function everyApiCallAuthorized(s: DevServer): void {
  const api = s.requests.filter((r) => !r.route.includes("/login"));
  expect(api.length).toBeGreaterThan(0);
  expect(api.filter((r) => !r.hadAuthorization)).toEqual([]);
}

describe("faults at the token endpoint and the API", () => {
  it(
    "a token endpoint answering 503 for a while: bounded retries, a typed error meanwhile, success once it " + "clears",
    async () => {
      const s = await server({ faults: [{ route: "POST /login", kind: "status", status: 503, times: 5 }] });
      const c = client(s, { maxAttempts: 3 });
      const first = await c.GET("/status").catch((e: unknown) => hygiene.error(e));
      expect(first).toMatchObject({ code: "ERR_TOKEN_ENDPOINT_UNAVAILABLE", status: 503 });
      expect(s.counters.faultsInjected).toBe(3); // three attempts, then the error: bounded
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          c.GET("/status").then(
            (r) => r.response.status,
            (e: MlServerClientError) => e.code,
          ),
        ),
      );
      // The fault has 2 answers left: that renewal's retries absorb them, and every caller gets through.
      expect(results).toEqual(Array(20).fill(200));
      expect(s.counters.logins).toBe(1);
      everyApiCallAuthorized(s);
    },
  );

  it("a token endpoint dropping connections, then answering", async () => {
    const s = await server({ faults: [{ route: "POST /login", kind: "drop", times: 2 }] });
    expect((await client(s).GET("/status")).response.status).toBe(200);
    expect(s.counters).toMatchObject({ faultsInjected: 2, logins: 1 });
    everyApiCallAuthorized(s);
  });

  it("a token endpoint slower than the time limit: bounded waiting, then success", async () => {
    const s = await server({
      faults: [{ route: "POST /login/refreshToken", kind: "delay", delayMs: 1500, times: 1 }],
      accessTokenSeconds: 1,
    });
    const c = client(s, { timeoutMs: 300, maxAttempts: 2 });
    expect((await c.GET("/status")).response.status).toBe(200);
    await sleep(1000);
    const results = await Promise.all(Array.from({ length: 10 }, () => c.GET("/status")));
    expect(results.map((r) => r.response.status)).toEqual(Array(10).fill(200));
    // Waiting was bounded by the time limit, not by the stall: every caller already succeeded
    // through a second renewal while the first (stalled for 1.5 s) has not even been answered.
    expect(s.counters).toMatchObject({ faultsInjected: 1, renewals: 1 });
    expect(s.requests.filter((r) => r.route === "POST /login/refreshToken")).toHaveLength(1);
    everyApiCallAuthorized(s);
  });

  it("the API refusing a token it has just issued: one renewal, one resend, success", async () => {
    const s = await server();
    const c = client(s);
    await c.GET("/status");
    s.faults.push({ route: "GET /services", kind: "status", status: 401, times: 1 });
    const results = await Promise.all(Array.from({ length: 5 }, () => c.GET("/services")));
    expect(results.map((r) => r.response.status)).toEqual(Array(5).fill(200));
    expect(s.counters.renewals).toBe(1);
    everyApiCallAuthorized(s);
  });
});

describe("bad token responses (property-based)", () => {
  const SECRET = "s3cr3t-marker-9f8e7d6c5b4a";

  /** Bodies a broken or hostile token endpoint might send; some carry a secret-looking marker. */
  const badBody = fc.oneof(
    fc
      .record({
        access_token: fc.constantFrom(undefined, "", 42, null, [], {}),
        refresh_token: fc.constant(SECRET),
        expires_in: fc.constant(3600),
      })
      .map((b) => JSON.stringify(b)),
    fc
      .record({
        access_token: fc.constant(SECRET),
        refresh_token: fc.constant("r"),
        expires_in: fc.oneof(
          fc.integer({ max: -1 }),
          fc.constant(1e15),
          fc.constantFrom("soon", "", "-1", true, {}, []),
        ),
      })
      .map((b) => JSON.stringify(b)),
    fc
      .record({
        access_token: fc.constant(SECRET),
        token_type: fc.constantFrom("mac", "pop", SECRET, 7),
        refresh_token: fc.constant("r"),
      })
      .map((b) => JSON.stringify(b)),
    // no refresh token
    fc.record({ access_token: fc.constant(SECRET), expires_in: fc.constant(60) }).map((b) => JSON.stringify(b)),
    fc.constantFrom(`<html><body>Login failed for ${SECRET}</body></html>`, "", "null", "[]", '"a string"', "42"),
    fc.string({ maxLength: 40 }).map((s) => `{"access_token": "${SECRET}${s}`), // truncated
    fc
      .integer({ min: 1, max: 3 })
      .map((mb) => `{"access_token": "${SECRET}", "pad": "${"x".repeat(mb * 1024 * 1024)}"}`), // enormous
  );

  let tokenServer: { url: string; body: string; close(): Promise<void> };
  beforeAll(async () => {
    const state = { body: "" };
    const s = createServer((req, res) => {
      req.resume();
      req.on("end", () =>
        res
          .writeHead(200, { "content-type": state.body.startsWith("<") ? "text/html" : "application/json" })
          .end(state.body),
      );
    });
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    tokenServer = Object.assign(state, {
      url: `http://127.0.0.1:${(s.address() as { port: number }).port}`,
      close: () => new Promise<void>((r) => s.close(() => r())),
    });
  });
  afterAll(() => tokenServer?.close());

  it("always a typed error with a stable code, never a crash, never the body echoed", async () => {
    const codes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(badBody, async (body) => {
        tokenServer.body = body;
        const auth = mlServerLogin({ ...USER, maxAttempts: 1 });
        const error = await createMlServerClient({ baseUrl: tokenServer.url, auth })
          .GET("/status")
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        hygiene.error(error);
        expect(error).toBeInstanceOf(MlServerClientError);
        const { code, message } = error as MlServerClientError;
        codes.add(code);
        expect(["ERR_TOKEN_RESPONSE_INVALID"]).toContain(code);
        expect(message).not.toContain(SECRET.slice(0, 10));
      }),
      { numRuns: 150 },
    );
    expect(codes).toEqual(new Set(["ERR_TOKEN_RESPONSE_INVALID"]));
  });

  it("parseTokenResponse on any JSON value: a token set or a typed error, nothing else", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        try {
          const set = parseTokenResponse(value, 1_700_000_000_000);
          expect(typeof set.accessToken).toBe("string");
          expect(Number.isFinite(set.expiresAt)).toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(MlServerClientError);
          expect((error as MlServerClientError).code).toBe("ERR_TOKEN_RESPONSE_INVALID");
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("load", () => {
  it("20,000 calls at concurrency 100 with 1-second tokens, mixed GET and POST with bodies: no failure, bounded " +
    "token requests, no leak", async () => {
    expect(typeof globalThis.gc).toBe("function");
    const s = await server({ accessTokenSeconds: 1, python: TEST_PYTHON });
    const observed = observeRefusals(s);
    const c = createMlServerClient({
      baseUrl: s.url,
      auth: mlServerLogin({ ...USER, retryDelayMs: 20 }),
      fetch: hygiene.fetch(observed.fetch),
    });
    const session = (await c.POST("/sessions", { body: { name: "load", runtimeType: "Python" } })).data!.sessionId!;
    const payload = new Uint8Array(2048).fill(7);
    const call = (i: number) =>
      i % 3 === 0
        ? c.GET("/status")
        : i % 3 === 1
          ? c.PATCH("/services/{name}/{version}", {
              params: { path: { name: "load", version: "1" } },
              body: { description: `call ${i}` },
            })
          : c.POST("/sessions/{id}/files", {
              params: { path: { id: session } },
              body: { file: new Blob([payload]) },
              bodySerializer: (body) => {
                const form = new FormData();
                form.append("file", body.file, "blob.bin");
                return form;
              },
            });
    await c.POST("/services/{name}/{version}", {
      params: { path: { name: "load", version: "1" } },
      body: { code: "x = 1", runtimeType: "Python" },
    });

    const run = async (total: number) => {
      let next = 0;
      const failed: string[] = [];
      await Promise.all(
        Array.from({ length: 100 }, async () => {
          while (next < total) {
            const { response } = await call(next++);
            if (!response.ok) failed.push(`${response.status} ${new URL(response.url).pathname}`);
          }
        }),
      );
      return failed;
    };
    await run(10_000); // warm up: pools, JIT, and the server's request log up to its 10,000 bound
    const heapBefore = await settledHeap();
    const renewalsBefore = s.counters.renewals;
    const refusalsBefore = observed.refusals.length;
    const started = Date.now();
    const failed = await run(20_000);
    // What the client guarantees under any load: it never sends a token it knows to have expired;
    // a refused call is resent once, and fails only if its resend's token, too, lapsed or was
    // rotated away in flight. So every failure is a 401, at most half the refusals, and every
    // refusal is of a token that was valid when it left.
    const refusals = observed.refusals.slice(refusalsBefore);
    expect(failed.filter((f) => !f.startsWith("401 "))).toEqual([]);
    expect(failed.length * 2).toBeLessThanOrEqual(refusals.length);
    expect(refusals.filter((r) => !r.validWhenSent)).toEqual([]);
    const seconds = (Date.now() - started) / 1000;
    const growth = (await settledHeap()) - heapBefore;
    const renewals = s.counters.renewals - renewalsBefore;
    console.log(
      `load: 20,000 calls in ${seconds.toFixed(1)} s, ${renewals} renewals, ${refusals.length} refusals in ` +
        `flight, ${failed.length} failed after the resend, heap ${(growth / 1024 / 1024).toFixed(1)} MiB after ` +
        `vs before`,
    );
    // Under load the expiry margin grows with slow round trips (to at most a quarter of the
    // lifetime), so renewals come at 0.75 of each lifetime at the earliest.
    expect(renewals).toBeLessThanOrEqual(Math.ceil(seconds / 0.75) + 1);
    expect(s.counters.logins).toBe(1);
    // Cloned bodies or per-request state left behind would add megabytes (each POST carries 2 KiB).
    expect(growth).toBeLessThan(8 * 1024 * 1024);
    everyApiCallAuthorized(s);
  }, 300_000); // about 50 s alone on 2 cores; up to three times that beside another test file
});

describe("no unhandled rejection and no secret anywhere", () => {
  it("saw no unhandled promise rejection during this file", async () => {
    await sleep(100);
    expect(unhandled).toEqual([]);
  });
  it("no password or token appears in any error or debug line of this file", () => {
    expect(hygiene.secrets.size).toBeGreaterThan(5);
    expect(hygiene.leaks()).toEqual([]);
    hygiene.stop();
  });
});
