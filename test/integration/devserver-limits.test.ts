// The dev server's resource limits and data checks, attacked as a hostile client would: child
// processes that try to outlive a run, output floods, huge bodies without a token, oversized
// batches, logins never revoked, ill-typed inputs, and a property-based fuzzer over every operation.
import { spawn } from "node:child_process";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../devserver/server.js";
import { TokenAuthority } from "../../devserver/tokens.js";
import { loadOperations } from "../../devserver/validate.js";
import { processesWith, until } from "../support/processes.js";
import { TEST_PYTHON } from "../support/python.js";

let server: DevServer;
let token: string;
const scratch = mkdtempSync(join(tmpdir(), "devserver-limits-"));

beforeAll(async () => {
  server = await startDevServer({
    python: TEST_PYTHON,
    executionLimits: { timeMs: 3000, outputBytes: 64 * 1024, parallelCount: 2 },
  });
  token = await signIn(server);
});
afterAll(async () => {
  await server.close();
  rmSync(scratch, { recursive: true, force: true });
});

async function signIn(s: DevServer): Promise<string> {
  const login = await fetch(`${s.url}/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password: "Admin-Pa55word!" }),
  });
  return ((await login.json()) as { access_token: string }).access_token;
}

const call = (path: string, init: RequestInit = {}) =>
  fetch(`${server.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...init.headers },
  });

async function publish(
  name: string,
  code: string,
  inputs: Record<string, string> = {},
  outputs: Record<string, string> = {},
): Promise<void> {
  const definitions = (o: Record<string, string>) => Object.entries(o).map(([n, type]) => ({ name: n, type }));
  const response = await call(`/services/${name}/1`, {
    method: "POST",
    body: JSON.stringify({
      code,
      runtimeType: "Python",
      inputParameterDefinitions: definitions(inputs),
      outputParameterDefinitions: definitions(outputs),
    }),
  });
  expect(response.status, await response.clone().text()).toBe(201);
}

const consume = async (name: string, inputs: unknown) => {
  const response = await call(`/api/${name}/1`, { method: "POST", body: JSON.stringify(inputs) });
  return {
    status: response.status,
    body: (await response.json()) as {
      success?: boolean;
      errorMessage?: string;
      consoleOutput?: string;
      message?: string;
      outputParameters?: Record<string, unknown>;
    },
  };
};

describe("a run's time limit holds for everything it starts", () => {
  it("a child process started by service code does not outlive the run, nor keep its answer waiting", async () => {
    await publish("orphan", "import subprocess\nsubprocess.Popen(['sleep', '97.25'])\ny = 1", {}, { y: "numeric" });
    const answer = await consume("orphan", {});
    expect(answer.body).toMatchObject({ success: true, outputParameters: { y: 1 } });
    await until(() => processesWith("sleep 97.25").length === 0, 3000);
  });

  it("past the time limit, the run and its children are stopped and the answer says so", async () => {
    await publish("stuck", "import subprocess, time\nsubprocess.Popen(['sleep', '96.25'])\ntime.sleep(60)");
    const answer = await consume("stuck", {});
    expect(answer.body).toMatchObject({
      success: false,
      errorMessage: "the code ran longer than the 3000 ms limit and was stopped",
    });
    await until(() => processesWith("sleep 96.25").length === 0, 3000);
  });
});

describe("a dev server that dies without closing leaves nothing running", () => {
  it("SIGKILLed with a session run and a service run in progress: their Python and its children end too", async () => {
    const host = spawn(
      process.execPath,
      ["--import", "tsx", join(import.meta.dirname, "../support/devserver-host.ts"), "91.25", "90.25"],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    await new Promise<void>((resolve, reject) => {
      host.stdout.on("data", (chunk: Buffer) => chunk.toString().includes("READY") && resolve());
      host.once("exit", (code) => reject(new Error(`the host exited early (${code})`)));
    });
    await until(() => processesWith("sleep 91.25").length === 1 && processesWith("sleep 90.25").length === 1);
    host.kill("SIGKILL");
    await until(() => processesWith("sleep 91.25").length + processesWith("sleep 90.25").length === 0, 5000);
  });
});

describe("the output limit bounds memory", () => {
  it(
    "a print loop is stopped at the limit while it runs (not at the time limit), and the output kept is " + "capped",
    async () => {
      await publish("flood", "while True:\n    print('x' * 100000)");
      const answer = await consume("flood", {});
      expect(answer.body.errorMessage).toBe(
        "the code produced more than 65536 bytes of console output and was stopped",
      );
      expect(answer.body.consoleOutput!.length).toBeLessThanOrEqual(65536);
    },
  );

  it("standard error counts toward the limit and is kept as console output", async () => {
    await publish("stderr-flood", "import sys\nwhile True:\n    sys.stderr.write('e' * 100000)");
    expect((await consume("stderr-flood", {})).body.errorMessage).toMatch(/more than 65536 bytes of console output/);
    await publish(
      "warns",
      "import sys\nprint('to stdout')\nprint('to stderr', file=sys.stderr)\ny = 2",
      {},
      { y: "numeric" },
    );
    expect((await consume("warns", {})).body).toMatchObject({ success: true, consoleOutput: "to stdout\nto stderr\n" });
  });
});

describe("bodies are capped, and the token is checked before a body is read", () => {
  /**
   * Sends headers and one chunk of a body it never finishes, and resolves with the status the server answers meanwhile.
   */
  const answerBeforeBodyEnds = (path: string, headers: Record<string, string>) =>
    new Promise<number>((resolve, reject) => {
      const { port } = new URL(server.url);
      const all: Record<string, string> = { "content-type": "application/json", ...headers };
      if (!all["content-length"]) all["transfer-encoding"] = "chunked";
      const req = httpRequest({ host: "127.0.0.1", port, path, method: "POST", headers: all }, (res) => {
        resolve(res.statusCode!);
        req.destroy();
        res.resume();
      });
      req.on("error", (error) => reject(error));
      req.write(Buffer.alloc(256 * 1024, 0x20));
    });

  it("without a token, the 401 comes while the body is still being sent, on /api/ routes and core routes", async () => {
    await publish("capped", "y = 1");
    expect(await answerBeforeBodyEnds("/api/capped/1", {})).toBe(401);
    expect(await answerBeforeBodyEnds("/services/capped/2", {})).toBe(401);
  });

  it("a body past 16 MiB is a 413 on /api/ routes too, whether its length is declared or streamed", async () => {
    expect(
      await answerBeforeBodyEnds("/api/capped/1", {
        authorization: `Bearer ${token}`,
        "content-length": String(17 * 1024 * 1024),
      }),
    ).toBe(413);
    // Written as Python's `requests` writes: the whole body (40 MiB, chunked) before reading
    // anything, then the next request on the same connection. The server drains what follows its
    // 413, so every write succeeds and both answers arrive.
    const answers = await new Promise<string>((resolve, reject) => {
      const { host, port } = new URL(server.url);
      const socket = connect(Number(port), "127.0.0.1");
      let received = "";
      socket.on("data", (data: Buffer) => {
        received += data.toString("latin1");
        const second = received.indexOf("HTTP/1.1 ", 1);
        const head = second > 0 ? received.indexOf("\r\n\r\n", second) : -1;
        const length = Number(/content-length: (\d+)/i.exec(received.slice(second, head))?.[1]);
        if (head > 0 && received.length >= head + 4 + length) {
          socket.end();
          resolve(received);
        }
      });
      socket.on("error", reject);
      socket.write(
        `POST /api/capped/1 HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${token}\r\nContent-Type: ` +
          `application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
      );
      const chunk = Buffer.concat([Buffer.from("100000\r\n"), Buffer.alloc(1024 * 1024, 0x20), Buffer.from("\r\n")]);
      let sent = 0;
      const pump = () => {
        while (sent < 40 && socket.write(chunk)) sent++;
        if (sent < 40) socket.once("drain", () => (sent++, pump()));
        else socket.write(`0\r\n\r\nGET /status HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${token}\r\n\r\n`);
      };
      pump();
    });
    const statuses = [...answers.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((match) => Number(match[1]));
    expect(statuses).toEqual([413, 200]);
    expect((await call("/status")).status).toBe(200);
  });
});

describe("batches", () => {
  it("parallelCount is lowered to the server's cap (here 2): at most 2 items run at once", async () => {
    const log = join(scratch, "overlap.log");
    await publish(
      "timed",
      "import time\nopen(log, 'a').write('%f start\\n' % time.time())\ntime.sleep(1.5)\nopen(log, " +
        "'a').write('%f end\\n' % time.time())",
      { log: "character" },
    );
    const started = await call(`/api/timed/1/batch?parallelCount=50`, {
      method: "POST",
      body: JSON.stringify(Array.from({ length: 4 }, () => ({ log }))),
    });
    const { batchExecutionId } = (await started.json()) as { batchExecutionId: string };
    await until(
      async () =>
        ((await (await call(`/api/timed/1/batch/${batchExecutionId}`)).json()) as { state: string }).state ===
        "complete",
      30_000,
    );
    const events = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((line) => line.split(" "))
      .map(([t, kind]) => [Number(t), kind === "start" ? 1 : -1] as const)
      .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let running = 0;
    let most = 0;
    for (const [, change] of events) most = Math.max(most, (running += change));
    expect(events).toHaveLength(8);
    expect(most).toBe(2);
  });

  it("cancelling a batch stops its running executions and what they started", async () => {
    await publish("slow-batch", "import subprocess, time\nsubprocess.Popen(['sleep', '95.25'])\ntime.sleep(30)");
    const started = await call(`/api/slow-batch/1/batch?parallelCount=2`, {
      method: "POST",
      body: JSON.stringify(Array.from({ length: 6 }, () => ({}))),
    });
    const { batchExecutionId } = (await started.json()) as { batchExecutionId: string };
    await until(() => processesWith("sleep 95.25").length === 2);
    expect((await call(`/api/slow-batch/1/batch/${batchExecutionId}`, { method: "DELETE" })).status).toBe(200);
    await until(() => processesWith("sleep 95.25").length === 0, 5000);
    // No further item starts after the cancel.
    await new Promise((r) => setTimeout(r, 300));
    expect(processesWith("sleep 95.25")).toEqual([]);
  });
});

describe("sign-ins that are never revoked do not grow memory without bound", () => {
  it("sessions expire with their refresh tokens (injected clock)", async () => {
    let now = Date.UTC(2026, 0, 1);
    const authority = new TokenAuthority(
      { accessTokenSeconds: 60, refreshTokenSeconds: 600, maxSessionSeconds: 86_400 },
      () => now,
    );
    for (let i = 0; i < 500; i++) await authority.signIn("admin");
    expect(authority.sessionCount).toBe(500);
    now += 601_000;
    await authority.signIn("admin");
    expect(authority.sessionCount).toBe(1);
  });

  it(
    "the same through the dev server: 200 logins, the refresh lifetime passes, one more login leaves one " + "session",
    async () => {
      let now = Date.now();
      const s = await startDevServer({ clock: () => now, refreshTokenSeconds: 60 });
      try {
        for (let i = 0; i < 200; i++) await signIn(s);
        expect(s.authority.sessionCount).toBe(200);
        now += 61_000;
        await signIn(s);
        expect(s.authority.sessionCount).toBe(1);
      } finally {
        await s.close();
      }
    },
  );
});

describe("faithful data", () => {
  it("inputs are checked against their declared types, naming the input; valid ones run", async () => {
    await publish(
      "typed",
      "ok = True",
      { n: "numeric", i: "integer", b: "logical", s: "character", v: "vector", m: "matrix", d: "data.frame" },
      { ok: "logical" },
    );
    const bad: [Record<string, unknown>, string][] = [
      [{ n: "12" }, "'n' is declared numeric"],
      [{ i: 1.5 }, "'i' is declared integer"],
      [{ b: "true" }, "'b' is declared logical"],
      [{ s: 5 }, "'s' is declared character"],
      [{ v: [1, { x: 1 }] }, "'v' is declared vector"],
      [{ m: [[1, 2], [3]] }, "'m' is declared matrix"],
      [{ d: [1, 2] }, "'d' is declared data.frame"],
    ];
    for (const [inputs, expected] of bad) {
      const answer = await consume("typed", inputs);
      expect(answer.status, JSON.stringify(inputs)).toBe(400);
      expect(answer.body.message).toContain(expected);
    }
    const good = await consume("typed", {
      n: 1.5,
      i: 2,
      b: false,
      s: "x",
      v: [1, "a"],
      m: [
        [1, 2],
        [3, 4],
      ],
      d: [{ a: 1 }, { a: 2 }],
    });
    expect(good.body).toMatchObject({ success: true, outputParameters: { ok: true } });
    expect((await consume("typed", { d: { a: [1, 2], b: ["x", "y"] }, n: null })).body.success).toBe(true);
    const batch = await call(`/api/typed/1/batch`, { method: "POST", body: JSON.stringify([{ n: 1 }, { n: "2" }]) });
    expect([batch.status, ((await batch.json()) as { message: string }).message]).toEqual([
      400,
      expect.stringContaining("item 1: input parameter 'n'"),
    ]);
  });

  it("a failed run always says why: an exit status, sys.exit, an output JSON cannot hold", async () => {
    await publish("exits", "import os\nos._exit(4)");
    expect((await consume("exits", {})).body.errorMessage).toBe("Python exited with status 4");
    await publish("sysexit", "import sys\nsys.exit('bad input')");
    expect((await consume("sysexit", {})).body.errorMessage).toBe("the code called sys.exit('bad input')");
    await publish("nan", "y = float('nan')", {}, { y: "numeric" });
    expect((await consume("nan", {})).body.errorMessage).toBe(
      "output parameter 'y' cannot be sent as JSON: NaN and infinity have no JSON form",
    );
  });

  it("access tokens carry an integer exp (RFC 7519 NumericDate)", async () => {
    const short = await startDevServer({ accessTokenSeconds: 1 });
    try {
      const payload = JSON.parse(Buffer.from((await signIn(short)).split(".")[1]!, "base64url").toString()) as {
        exp: number;
        iat: number;
      };
      expect(Number.isInteger(payload.exp)).toBe(true);
      expect(payload.exp - payload.iat).toBeGreaterThanOrEqual(1);
    } finally {
      await short.close();
    }
  });
});

describe("a property-based fuzzer over every operation of the description", () => {
  it("answers every generated request with a status below 500, and stays up", async () => {
    const operations = loadOperations(join(import.meta.dirname, "../../openapi/mlserver.yaml"));
    const segment = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom("%ZZ", "%E0%A4%A", "..", "%2F", "%00", "a b", "x".repeat(300)),
    );
    const request = fc.record({
      operation: fc.constantFrom(...operations),
      method: fc.option(fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"), { nil: undefined }),
      values: fc.array(segment, { minLength: 4, maxLength: 4 }),
      encode: fc.boolean(),
      contentType: fc.constantFrom(
        "application/json",
        "Application/JSON",
        "APPLICATION/JSON; charset=utf-8",
        "multipart/form-data; boundary=x",
        "text/plain",
        "application/octet-stream",
        "",
      ),
      body: fc.oneof(fc.json({ depthSize: "small" }), fc.string(), fc.constant("")),
      auth: fc.constantFrom("valid", "none", "garbage"),
    });
    await fc.assert(
      fc.asyncProperty(request, async ({ operation, method, values, encode, contentType, body, auth }) => {
        let i = 0;
        const path = operation.template.replace(/\{[^}]+\}/g, () => {
          const value = values[i++ % values.length]!;
          return encode ? encodeURIComponent(value) : value.replace(/[/?#]/g, "_");
        });
        const verb = method ?? operation.method;
        const response = await fetch(`${server.url}${path}`, {
          method: verb,
          headers: {
            ...(contentType && { "content-type": contentType }),
            ...(auth === "valid"
              ? { authorization: `Bearer ${token}` }
              : auth === "garbage"
                ? { authorization: "Bearer x.y.z" }
                : {}),
          },
          ...(verb !== "GET" && body !== "" && { body }),
        });
        await response.arrayBuffer();
        expect(response.status, `${verb} ${path} ${contentType} ${body.slice(0, 80)}`).toBeLessThan(500);
      }),
      { numRuns: 400, seed: 20261202 },
    );
    expect((await call("/status")).status).toBe(200);
  });
});
