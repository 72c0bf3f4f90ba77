// Python services run as ML Server runs them: warm shells per service that ran the init code once,
// each request starting from the state the init left, shells replaced after a failure, pools sized
// by the pool API, and the interpreter chosen by the user and resolved once.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../devserver/server.js";
import { until } from "../support/processes.js";
import { TEST_PYTHON } from "../support/python.js";

const scratch = mkdtempSync(join(tmpdir(), "devserver-python-"));
let server: DevServer;
let token: string;

beforeAll(async () => {
  server = await startDevServer({ python: TEST_PYTHON, executionLimits: { timeMs: 3000, parallelCount: 2 } });
  token = await signIn(server);
});
afterAll(async () => {
  await server?.close();
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

const call = (path: string, init: RequestInit = {}, s = server, t = token) =>
  fetch(`${s.url}${path}`, { ...init, headers: { authorization: `Bearer ${t}`, "content-type": "application/json" } });

async function publish(name: string, body: Record<string, unknown>, s = server, t = token): Promise<Response> {
  return call(
    `/services/${name}/1`,
    { method: "POST", body: JSON.stringify({ runtimeType: "Python", ...body }) },
    s,
    t,
  );
}

async function consume(
  name: string,
  inputs: Record<string, unknown> = {},
  s = server,
  t = token,
): Promise<{ success: boolean; errorMessage: string; outputParameters: Record<string, unknown> }> {
  return (await call(`/api/${name}/1`, { method: "POST", body: JSON.stringify(inputs) }, s, t)).json() as never;
}

/** Lines in a file the service's own init code appends to: how often it really ran. */
const initRuns = (file: string) => readFileSync(file, "utf8").split("\n").filter(Boolean).length;

const outputs = (o: Record<string, string>) => Object.entries(o).map(([name, type]) => ({ name, type }));

describe("warm shells", () => {
  it("the init code runs once per shell, the code once per request, each request from the init's state", async () => {
    const log = join(scratch, "init-once.log");
    const shellsBefore = server.counters.shellsStarted;
    const response = await publish("warm", {
      initCode:
        `with open(${JSON.stringify(log)}, "a") as f:\n    f.write("init\\n")\nmodel = {"factor": ` +
        `3}\ncalls = 0\nwith open("model.txt", "w") as f:\n    f.write("kept")`,
      code:
        "import os\ncalls += 1\nexisted = os.path.exists('scratch.txt')\nopen('scratch.txt', " +
        "'w').write('x')\nkept = open('model.txt').read()\ny = x * model['factor']",
      inputParameterDefinitions: outputs({ x: "integer" }),
      outputParameterDefinitions: outputs({ y: "integer", calls: "integer", existed: "logical", kept: "character" }),
    });
    expect(response.status).toBe(201);
    for (let x = 0; x < 20; x++) {
      expect((await consume("warm", { x })).outputParameters).toEqual({
        y: x * 3,
        calls: 1,
        existed: false,
        kept: "kept",
      });
    }
    const concurrent = await Promise.all(Array.from({ length: 40 }, (_, x) => consume("warm", { x })));
    expect(concurrent.map((r) => r.outputParameters.y)).toEqual(Array.from({ length: 40 }, (_, x) => x * 3));
    expect(concurrent.every((r) => r.outputParameters.calls === 1 && r.outputParameters.existed === false)).toBe(true);
    const batch = (await (
      await call("/api/warm/1/batch?parallelCount=2", {
        method: "POST",
        body: JSON.stringify(Array.from({ length: 50 }, (_, x) => ({ x }))),
      })
    ).json()) as {
      batchExecutionId: string;
    };
    let status: { state: string; batchExecutionResults: { outputParameters: { y: number } }[] };
    for (;;) {
      status = (await (await call(`/api/warm/1/batch/${batch.batchExecutionId}`)).json()) as typeof status;
      if (status.state === "complete") break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(status.batchExecutionResults.map((r) => r.outputParameters.y)).toEqual(
      Array.from({ length: 50 }, (_, x) => x * 3),
    );
    // 110 runs; at most 2 shells (the pool's default size is the server's parallelCount), each initialised once.
    const shells = server.counters.shellsStarted - shellsBefore;
    expect(shells).toBeGreaterThanOrEqual(1);
    expect(shells).toBeLessThanOrEqual(2);
    expect(initRuns(log)).toBe(shells);
  });

  it("a shell whose run failed, ran out of time or was cancelled is replaced; the next request is clean", async () => {
    const log = join(scratch, "recycle.log");
    await publish("recycle", {
      initCode: `with open(${JSON.stringify(log)}, "a") as f:\n    f.write("init\\n")\nseen = 0`,
      code:
        "import time\nseen += 1\nif mode == 'fail':\n    raise ValueError('asked to')\nif mode == 'slow':\n " +
        "   time.sleep(30)",
      inputParameterDefinitions: outputs({ mode: "character" }),
      outputParameterDefinitions: outputs({ seen: "integer" }),
    });
    expect((await consume("recycle", { mode: "ok" })).outputParameters).toEqual({ seen: 1 });
    const before = initRuns(log);
    expect(await consume("recycle", { mode: "fail" })).toMatchObject({
      success: false,
      errorMessage: "ValueError: asked to",
    });
    expect(await consume("recycle", { mode: "slow" })).toMatchObject({
      success: false,
      errorMessage: "the code ran longer than the 3000 ms limit and was stopped",
    });
    // A cancelled batch stops its running item.
    const { batchExecutionId } = (await (
      await call("/api/recycle/1/batch?parallelCount=1", { method: "POST", body: JSON.stringify([{ mode: "slow" }]) })
    ).json()) as { batchExecutionId: string };
    await until(() => initRuns(log) >= before + 2, 30_000);
    expect((await call(`/api/recycle/1/batch/${batchExecutionId}`, { method: "DELETE" })).status).toBe(200);
    // Each failure cost its shell (the init ran again for its replacement); variables start from the init's.
    expect((await consume("recycle", { mode: "ok" })).outputParameters).toEqual({ seen: 1 });
    expect((await consume("recycle", { mode: "ok" })).outputParameters).toEqual({ seen: 1 });
    await until(() => initRuns(log) >= before + 3, 30_000);
    expect(initRuns(log)).toBeLessThanOrEqual(before + 4);
  });

  it("the pool API sizes the pool: InitialPoolSize shells start at once, MaxPoolSize run together", async () => {
    const log = join(scratch, "pool.log");
    const lock = join(scratch, "pool.lock");
    await publish("pooled", {
      initCode: `with open(${JSON.stringify(log)}, "a") as f:\n    f.write("init\\n")`,
      // Fails if two runs overlap: each holds an exclusive lock file while it runs.
      code:
        `import os, time\nfd = os.open(${JSON.stringify(lock)}, os.O_CREAT | ` +
        `os.O_EXCL)\ntime.sleep(0.05)\nos.close(fd)\nos.remove(${JSON.stringify(lock)})\ny = 1`,
      outputParameterDefinitions: outputs({ y: "integer" }),
    });
    const created = await call("/services/pooled/1/pool", {
      method: "POST",
      body: JSON.stringify({ InitialPoolSize: 1, MaxPoolSize: 1 }),
    });
    expect(await created.json()).toBe("Created");
    await until(() => {
      try {
        return initRuns(log) === 1;
      } catch {
        return false;
      }
    }, 30_000);
    const results = await Promise.all(Array.from({ length: 8 }, () => consume("pooled")));
    expect(results.map((r) => r.errorMessage)).toEqual(Array(8).fill(""));
    expect(initRuns(log)).toBe(1);
    expect(await (await call("/services/pooled/1/pool")).json()).toEqual([
      { ComputeNodeEndpoint: server.url, Status: "Success" },
    ]);
    // Larger: three shells start without a single call.
    expect(
      await (
        await call("/services/pooled/1/pool", {
          method: "POST",
          body: JSON.stringify({ InitialPoolSize: 3, MaxPoolSize: 3 }),
        })
      ).json(),
    ).toBe("Updated");
    await until(() => initRuns(log) === 3, 30_000);
    expect((await call("/services/pooled/1/pool", { method: "DELETE" })).status).toBe(200);
  });

  it("changing a service retires its shells: the next call runs the new code after the new init", async () => {
    await publish("changing", {
      initCode: "base = 1",
      code: "y = base",
      outputParameterDefinitions: outputs({ y: "integer" }),
    });
    expect((await consume("changing")).outputParameters).toEqual({ y: 1 });
    const patched = await call("/services/changing/1", {
      method: "PATCH",
      body: JSON.stringify({ initCode: "base = 40", code: "y = base + 2" }),
    });
    expect(patched.status).toBe(200);
    expect((await consume("changing")).outputParameters).toEqual({ y: 42 });
    expect((await call("/services/changing/1", { method: "DELETE" })).status).toBe(200);
    expect((await call("/api/changing/1", { method: "POST", body: "{}" })).status).toBe(404);
  });
});

describe("outputs as ML Server's Python runtime sends them", () => {
  it(
    "numpy scalars anywhere in a list, tuple or dict become JSON numbers and booleans; a value JSON cannot " +
      "hold is named with its place",
    async () => {
      await publish("numpyish", {
        code: [
          "import numpy as np",
          "a = np.array(v, dtype=float)",
          "v_out = list(a * 2)",
          "t_out = (np.int64(3), np.float32(0.5), np.bool_(True))",
          "d_out = {'mean': a.mean(), 'flags': [np.bool_(False), {'n': np.int32(7)}], 1: np.uint8(2)}",
        ].join("\n"),
        inputParameterDefinitions: outputs({ v: "vector" }),
        outputParameterDefinitions: outputs({ v_out: "vector", t_out: "vector", d_out: "character" }),
      });
      const result = await consume("numpyish", { v: [1, 2, 3] });
      expect(result.errorMessage).toBe("");
      expect(result.outputParameters).toEqual({
        v_out: [2, 4, 6],
        t_out: [3, 0.5, true],
        d_out: { mean: 2, flags: [false, { n: 7 }], "1": 2 },
      });
      await publish("unjsonable", {
        code: "y = [1, {'a': [2, {3, 4}]}]",
        outputParameterDefinitions: outputs({ y: "character" }),
      });
      expect((await consume("unjsonable")).errorMessage).toBe(
        `output parameter 'y' cannot be sent as JSON: y[1]["a"][1] is a set, which is not a JSON value`,
      );
      await publish("deepnan", {
        code: "import numpy as np\ny = [1.0, np.float64('nan')]",
        outputParameterDefinitions: outputs({ y: "vector" }),
      });
      expect((await consume("deepnan")).errorMessage).toBe(
        "output parameter 'y' cannot be sent as JSON: NaN and infinity have no JSON form (y[1])",
      );
    },
  );
});

describe("which Python", () => {
  it("a launcher is resolved to its interpreter once: later runs start the interpreter directly", async () => {
    const starts = join(scratch, "launcher-starts.log");
    const launcher = join(scratch, "python-launcher");
    writeFileSync(
      launcher,
      `#!/bin/sh\necho start >> ${JSON.stringify(starts)}\nexec ${JSON.stringify(TEST_PYTHON)} "$@"\n`,
    );
    chmodSync(launcher, 0o755);
    const s = await startDevServer({ python: launcher, executionLimits: { parallelCount: 2 } });
    try {
      const t = await signIn(s);
      expect(
        (
          await publish(
            "through-launcher",
            { code: "import sys\nexe = sys.executable", outputParameterDefinitions: outputs({ exe: "character" }) },
            s,
            t,
          )
        ).status,
      ).toBe(201);
      const results = await Promise.all(Array.from({ length: 6 }, () => consume("through-launcher", {}, s, t)));
      expect(results.every((r) => r.success)).toBe(true);
      const session = (await (
        await call("/sessions", { method: "POST", body: JSON.stringify({ runtimeType: "Python" }) }, s, t)
      ).json()) as { sessionId: string };
      expect(session.sessionId).toEqual(expect.any(String));
      // The launcher ran once, to be asked which interpreter it starts; shells and sessions start that one.
      expect(readFileSync(starts, "utf8").split("\n").filter(Boolean)).toHaveLength(1);
      expect(results[0]!.outputParameters.exe).not.toBe(launcher);
    } finally {
      await s.close();
    }
  });

  it("a Python that cannot start is a clear 400 at publish time and when a session starts, never a 500", async () => {
    const s = await startDevServer({ python: join(scratch, "no-such-python") });
    try {
      const t = await signIn(s);
      const published = await publish("nowhere", { code: "y = 1" }, s, t);
      expect(published.status).toBe(400);
      expect(((await published.json()) as { message: string }).message).toMatch(
        /the dev server's Python \(.*no-such-python\) could not be started/,
      );
      const session = await call(
        "/sessions",
        { method: "POST", body: JSON.stringify({ runtimeType: "Python" }) },
        s,
        t,
      );
      expect(session.status).toBe(400);
      // Realtime and R-less paths are untouched by a missing Python.
      expect((await call("/status", {}, s, t)).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});
