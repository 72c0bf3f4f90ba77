/**
 * The dev server under hostile sizes and counts, as a fuzzer drives it: fast-check generates pool,
 * session, batch, snapshot and publish requests with sizes from 0 to two million and counts past
 * every limit, against one dev server whose interpreter budget is 4. After every request the
 * Python processes it runs are counted from /proc (never above the budget), no answer is a 5xx
 * but the budget's 503, and `/status` keeps answering fast. Also: a pool larger than the budget is
 * a 400 at once, a pool request answers before its shells start, and a client that sends its
 * headers one byte at a time is cut off.
 */
import { readdirSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../devserver/server.js";
import { until } from "../support/processes.js";
import { TEST_PYTHON } from "../support/python.js";

const BUDGET = 4;
let server: DevServer;
let token: string;

beforeAll(async () => {
  server = await startDevServer({
    python: TEST_PYTHON,
    executionLimits: { interpreters: BUDGET, timeMs: 5000 },
    httpTimeouts: { headersMs: 1000 },
  });
  const login = await fetch(`${server.url}/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password: "Admin-Pa55word!" }),
  });
  token = ((await login.json()) as { access_token: string }).access_token;
  const seed = await call("POST", "/services/seedSvc/1.0", {
    code: "y = x",
    runtimeType: "Python",
    inputParameterDefinitions: [{ name: "x", type: "numeric" }],
    outputParameterDefinitions: [{ name: "y", type: "numeric" }],
  });
  expect(seed.status).toBe(201);
}, 60_000);
afterAll(() => server?.close());

async function call(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: kept as text
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

/** The Python interpreters this test process (which runs the dev server) has started, alive now. */
function interpreters(): number {
  const children = new Map<number, number[]>();
  const names = new Map<number, string>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const [state, ppid] = stat.slice(close + 2).split(" ");
      if (state === "Z") continue;
      names.set(Number(entry), stat.slice(stat.indexOf("(") + 1, close));
      children.set(Number(ppid), [...(children.get(Number(ppid)) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  let count = 0;
  const walk = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      if (/^python/.test(names.get(child) ?? "")) count++;
      else walk(child);
    }
  };
  walk(process.pid);
  return count;
}

/** Sizes a fuzzer tries: small, at and past the budget, huge, and not whole numbers. */
const size = fc.oneof(
  fc.integer({ min: 0, max: 6 }),
  fc.constantFrom(1895740, 694625191, 103, 12),
  fc.double({ min: -5, max: 10, noNaN: true }),
);

type Step =
  | { kind: "pool"; initial?: number; max?: number }
  | { kind: "session"; burst: number }
  | { kind: "batch"; rows: number; parallel: number }
  | { kind: "snapshot" }
  | { kind: "publish"; name: string };
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record(
    {
      kind: fc.constant("pool" as const),
      initial: fc.option(size, { nil: undefined }),
      max: fc.option(size, { nil: undefined }),
    },
    { requiredKeys: ["kind"] },
  ),
  // Sessions asked for at once, past the budget and the per-user limit alike.
  fc.record({ kind: fc.constant("session" as const), burst: fc.integer({ min: 1, max: 12 }) }),
  fc.record({
    kind: fc.constant("batch" as const),
    rows: fc.integer({ min: 0, max: 40 }),
    parallel: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.constant(1_000_000)),
  }),
  fc.record({ kind: fc.constant("snapshot" as const) }),
  fc.record({ kind: fc.constant("publish" as const), name: fc.string({ minLength: 1, maxLength: 300 }) }),
);

const sessions: string[] = [];
const batches: string[] = [];

async function perform(s: Step): Promise<{ status: number; body: unknown; headers: Headers }> {
  switch (s.kind) {
    case "pool":
      return call("POST", "/services/seedSvc/1.0/pool", {
        ...(s.initial !== undefined && { InitialPoolSize: s.initial }),
        ...(s.max !== undefined && { MaxPoolSize: s.max }),
      });
    case "session": {
      const answers = await Promise.all(
        Array.from({ length: s.burst }, () => call("POST", "/sessions", { runtimeType: "Python" })),
      );
      for (const answer of answers)
        if (answer.status === 201) sessions.push((answer.body as { sessionId: string }).sessionId);
      // The worst answer stands for the burst.
      return answers.reduce((worst, answer) => (answer.status > worst.status ? answer : worst));
    }
    case "batch": {
      const rows = Array.from({ length: s.rows }, (_, x) => ({ x }));
      const answer = await call("POST", `/api/seedSvc/1.0/batch?parallelCount=${s.parallel}`, rows);
      if (answer.status === 202) batches.push((answer.body as { batchExecutionId: string }).batchExecutionId);
      return answer;
    }
    case "snapshot":
      return sessions.length
        ? call("POST", `/sessions/${sessions.at(-1)}/snapshot`, { name: "s" })
        : call("POST", "/sessions/none/snapshot", { name: "s" });
    case "publish":
      return call("POST", `/services/${encodeURIComponent(s.name)}/1.0`, { code: "y = 1", runtimeType: "Python" });
  }
}

describe("the dev server under a fuzzer", () => {
  it("never runs more interpreters than its budget, never answers 5xx (but the budget's 503), and /status stays " +
    "fast", async () => {
    const statuses = new Map<number, number>();
    let most = 0;
    let slowest = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 6 }), async (steps) => {
        for (const s of steps) {
          const answer = await perform(s);
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          if (answer.status === 503) expect(answer.headers.get("retry-after")).toBe("1");
          else expect(answer.status, JSON.stringify({ s, body: answer.body })).toBeLessThan(500);
          most = Math.max(most, interpreters());
          expect(most).toBeLessThanOrEqual(BUDGET);
          const started = performance.now();
          expect((await call("GET", "/status")).status).toBe(200);
          slowest = Math.max(slowest, performance.now() - started);
        }
        // Between runs: sessions closed and the pool back to the default, so each run starts alike.
        for (const id of sessions.splice(0)) await call("DELETE", `/sessions/${id}/force`);
        for (const id of batches.splice(0)) await call("DELETE", `/api/seedSvc/1.0/batch/${id}`);
        await call("DELETE", "/services/seedSvc/1.0/pool");
      }),
      { numRuns: 30, seed: 34, interruptAfterTimeLimit: 150_000 },
    );
    console.log(
      `fuzz: answers ${JSON.stringify(Object.fromEntries(statuses))}, most interpreters at once ${most}, ` +
        `slowest /status ${slowest.toFixed(0)} ms`,
    );
    // Time is the promise here: the server keeps answering while shells start and runs queue.
    expect(slowest).toBeLessThan(2000);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(503) ?? 0, "the budget was reached at least once").toBeGreaterThan(0);
  }, 240_000);

  it(
    "a pool larger than the budget is a 400 at once; InitialPoolSize above the default MaxPoolSize is " + "a 400",
    async () => {
      for (const body of [
        { InitialPoolSize: 1895740 },
        { InitialPoolSize: 103, MaxPoolSize: 694625191 },
        { InitialPoolSize: 1, MaxPoolSize: BUDGET + 1 },
      ]) {
        const answer = await call("POST", "/services/seedSvc/1.0/pool", body);
        expect(answer.status).toBe(400);
        expect((answer.body as { message: string }).message).toContain(`${BUDGET} interpreters`);
      }
      const beyondDefault = await call("POST", "/services/seedSvc/1.0/pool", { InitialPoolSize: 3 });
      expect(beyondDefault.status).toBe(400);
      expect((beyondDefault.body as { message: string }).message).toMatch(
        /InitialPoolSize \(3\) may not exceed the default MaxPoolSize/,
      );
    },
  );

  it("a pool request answers before its shells start; idle shells give way to sessions; past the " +
    "budget, 503", async () => {
    const answer = await call("POST", "/services/seedSvc/1.0/pool", { InitialPoolSize: BUDGET, MaxPoolSize: BUDGET });
    expect(answer.status).toBe(200);
    await until(() => interpreters() === BUDGET, 60_000);
    // The pool's idle shells stop to make room for sessions, which are never stopped for others.
    const opened: string[] = [];
    for (let i = 0; i < BUDGET; i++) {
      const session = await call("POST", "/sessions", { runtimeType: "Python" });
      expect(session.status, JSON.stringify(session.body)).toBe(201);
      opened.push((session.body as { sessionId: string }).sessionId);
      expect(interpreters()).toBeLessThanOrEqual(BUDGET);
    }
    const refused = await call("POST", "/sessions", { runtimeType: "Python" });
    expect([refused.status, refused.headers.get("retry-after")]).toEqual([503, "1"]);
    expect((refused.body as { message: string }).message).toContain(`all ${BUDGET} interpreters`);
    // The service's pool has no shell left and no room for one: its call is a 503 too, not a hang.
    expect((await call("POST", "/api/seedSvc/1.0", { x: 2 })).status).toBe(503);
    for (const id of opened) await call("DELETE", `/sessions/${id}/force`);
    expect((await call("POST", "/api/seedSvc/1.0", { x: 2 })).body).toMatchObject({
      success: true,
      outputParameters: { y: 2 },
    });
    expect((await call("DELETE", "/services/seedSvc/1.0/pool")).status).toBe(200);
  }, 120_000);

  it("a client that sends its headers a byte at a time is answered 408 and cut off once the headers timeout " +
    "passes", async () => {
    const { port } = new URL(server.url);
    const socket = connect(Number(port), "127.0.0.1");
    const request = "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + "a".repeat(200);
    let received = "";
    socket.on("data", (d: Buffer) => (received += d));
    const closed = new Promise<number>((resolve) => socket.on("close", () => resolve(performance.now())));
    const started = performance.now();
    let sent = 0;
    const drip = setInterval(() => {
      if (sent < request.length && !socket.destroyed) socket.write(request[sent++]!);
    }, 100);
    const at = await closed;
    clearInterval(drip);
    // Cut off long before the 20 s the drip would take: the limit is 1 s, checked each second.
    expect(at - started).toBeLessThan(10_000);
    expect(sent).toBeLessThan(request.length);
    expect(received).toMatch(/^HTTP\/1\.1 408/);
  }, 30_000);
});
