import { execFile } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../devserver/server.js";
import { serviceSwagger } from "../../devserver/service-swagger.js";
import { main as cli } from "../../src/cli/main.js";
import {
  createMlServerClient,
  createServiceClient,
  createWorkQueue,
  deleteService,
  deleteServicePool,
  getService,
  listServices,
  mlServerLogin,
  publishFromSession,
  publishService,
  getSessionFile,
  getWorkspaceObject,
  putSessionFiles,
  putWorkspaceObject,
  remoteExecute,
  RemoteExecutionError,
  BatchCancelledError,
  servicePoolStatus,
  setServicePool,
  ServiceExecutionError,
  updateService,
  type MlServerClient,
} from "../../src/index.js";
import { SecretHygiene } from "../support/hygiene.js";
import { SPECS_DIR, describeWithSpecs } from "../support/specs.js";
import { tempDir } from "../support/tmp.js";
import { typecheckFiles } from "../support/typecheck.js";
import { TEST_PYTHON } from "../support/python.js";
import { rMissing } from "../support/r.js";

const run = promisify(execFile);
const hygiene = new SecretHygiene();
const USER = { username: "admin", password: "Admin-Pa55word!" };
hygiene.secret(USER.password);
let server: DevServer;
let client: MlServerClient;
let auth: ReturnType<typeof mlServerLogin>;

beforeAll(async () => {
  server = await startDevServer({
    python: TEST_PYTHON,
    accessTokenSeconds: 1,
    executionLimits: { timeMs: 1500, outputBytes: 64 * 1024 },
    users: [USER, { username: "other", password: "Other-Pa55word!" }],
  });
  auth = mlServerLogin(USER);
  client = createMlServerClient({ baseUrl: server.url, auth, fetch: hygiene.fetch() });
});
afterAll(() => server?.close());

const silent = { out: { write: () => true }, err: { write: () => true } };

describe("publish, generate from the live server, type-check, consume, batch", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
  });

  it("the whole cycle with 1-second tokens expiring during the batch, and no failed call", async () => {
    await publishService(client, {
      name: "scorer",
      version: "2.0",
      alias: "score",
      code:
        "import time\ntime.sleep(0.03)\ny = x * factor\nlabel = 'big' if y > 10 else 'small'\nflags = [y > " +
        "0, y > 100]",
      inputs: { x: "numeric", factor: "integer" },
      outputs: { y: "numeric", label: "character", flags: "vector" },
    });

    process.env.MLSERVER_TEST_PASSWORD = USER.password;
    const output = join(dir, "scorer.ts");
    const args = [
      "generate",
      "--server",
      server.url,
      "--service",
      "scorer@2.0",
      "-o",
      output,
      "--username",
      "admin",
      "--password-env",
      "MLSERVER_TEST_PASSWORD",
    ];
    expect(await cli(args, silent)).toBe(0);
    expect(await cli([...args, "--check"], silent)).toBe(0);

    // The generated types compile, and a typed call site against them compiles only when right.
    const usage = join(dir, "usage.ts");
    writeFileSync(
      usage,
      `
      import type { components, operations } from "./scorer.js";
      import { createServiceClient } from ${JSON.stringify(resolve("src/index.ts").replace(/\.ts$/, ".js"))};
      declare const svc: ReturnType<typeof createServiceClient<components>>;
      type Body = operations["score"]["requestBody"]["content"]["application/json"];
      const ok: Body = { x: 1.5, factor: 2 };
      // @ts-expect-error -- x is a number
      const wrong: Body = { x: "1.5" };
      export async function use() {
        const { outputs } = await svc.consume({ x: 2, factor: 3 });
        // Every declared output of a successful run is there: no \`!\`, no undefined.
        const y: number = outputs.y;
        const label: string = outputs.label;
        // @ts-expect-error -- no such output
        outputs.nope;
        // @ts-expect-error -- every declared input is required, as ML Server runs the code with each
        await svc.consume({});
        // @ts-expect-error -- factor is missing
        await svc.consume({ x: 1 });
        return [ok, wrong, y, label];
      }
    `,
    );
    expect(typecheckFiles([output, usage])).toEqual([]);
    // With --keep-optional, the swagger as ML Server declares it: every field optional.
    const optional = join(dir, "scorer-optional.ts");
    expect(await cli([...args.slice(0, 6), optional, ...args.slice(7), "--keep-optional"], silent)).toBe(0);
    const loose = join(dir, "loose.ts");
    writeFileSync(
      loose,
      `
      import type { components } from "./scorer-optional.js";
      import { createServiceClient } from ${JSON.stringify(resolve("src/index.ts").replace(/\.ts$/, ".js"))};
      declare const svc: ReturnType<typeof createServiceClient<components>>;
      export async function use() {
        const { outputs } = await svc.consume({});
        const y: number | undefined = outputs.y;
        // @ts-expect-error -- optional: may be undefined
        const sure: number = outputs.y;
        return [y, sure];
      }
    `,
    );
    expect(typecheckFiles([optional, loose])).toEqual([]);

    const scorer = createServiceClient<{
      schemas: {
        InputParameters: { x?: number; factor?: number };
        OutputParameters: { y?: number; label?: string; flags?: boolean[] };
      };
    }>({
      baseUrl: server.url,
      auth,
      name: "scorer",
      version: "2.0",
      fetch: hygiene.fetch(),
    });
    const one = await scorer.consume({ x: 2.5, factor: 4 });
    expect(one.outputs).toEqual({ y: 10, label: "small", flags: [true, false] });

    const renewalsBefore = server.counters.renewals;
    const progress: number[] = [];
    const inputs = Array.from({ length: 60 }, (_, i) => ({ x: i, factor: 2 }));
    const results = await scorer.runBatch(inputs, {
      parallelCount: 3,
      intervalMs: 50,
      onProgress: (p) => progress.push(p.completed),
    });
    expect(results.map((r) => (r instanceof Error ? r.message : r.outputs.y))).toEqual(inputs.map((i) => i.x * 2));
    expect(progress.at(-1)).toBe(60);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.length).toBeGreaterThan(3);
    // The batch outlived several 1-second tokens, and nothing failed.
    expect(server.counters.renewals - renewalsBefore).toBeGreaterThanOrEqual(1);

    // Made from the client already signed in: its sign-in is shared, no second login.
    const loginsBefore = server.counters.logins;
    const shared = createServiceClient<{
      schemas: { InputParameters: { x?: number; factor?: number }; OutputParameters: { y?: number } };
    }>(client, {
      name: "scorer",
      version: "2.0",
    });
    expect((await shared.consume({ x: 3, factor: 2 })).outputs.y).toBe(6);
    expect(await shared.listBatches()).toEqual(expect.any(Array));
    expect(server.counters.logins).toBe(loginsBefore);
    expect(() => createServiceClient(client, { name: "", version: "1" })).toThrow(/name and version/);
  });

  it(
    "generate --service with the profile's sign-in (after mlserver login) writes the same types, with no " +
      "credentials on the command",
    async () => {
      const saved = { ...process.env };
      Object.assign(process.env, {
        MLSERVER_CONFIG: join(dir, "config.json"),
        MLSERVER_CACHE_DIR: join(dir, "cache"),
        MLSERVER_PASSWORD: USER.password,
      });
      try {
        expect(await cli(["login", "--server", server.url, "--username", "admin"], silent)).toBe(0);
        delete process.env.MLSERVER_PASSWORD;
        const loginsBefore = server.counters.logins;
        expect(await cli(["generate", "--service", "scorer@2.0", "-o", join(dir, "by-profile.ts")], silent)).toBe(0);
        expect(server.counters.logins).toBe(loginsBefore);
        expect(readFileSync(join(dir, "by-profile.ts"), "utf8")).toBe(readFileSync(join(dir, "scorer.ts"), "utf8"));
      } finally {
        for (const name of ["MLSERVER_CONFIG", "MLSERVER_CACHE_DIR", "MLSERVER_PASSWORD"]) {
          if (saved[name] === undefined) delete process.env[name];
          else process.env[name] = saved[name];
        }
      }
    },
  );

  it("generate --server --check fails, naming the file, when the service changed", async () => {
    await updateService(client, { name: "scorer", version: "2.0", outputs: { y: "numeric" } });
    let err = "";
    const code = await cli(
      [
        "generate",
        "--server",
        server.url,
        "--service",
        "scorer@2.0",
        "-o",
        join(dir, "scorer.ts"),
        "--username",
        "admin",
        "--password-env",
        "MLSERVER_TEST_PASSWORD",
        "--check",
      ],
      { out: { write: () => true }, err: { write: (s: string) => (err += s) } },
    );
    expect(code).toBe(1);
    expect(err).toContain(`ERR_GENERATED_STALE: Generated files are stale or missing: ${join(dir, "scorer.ts")}`);
    expect(err).not.toContain(USER.password);
  });
});

describe("what a service run can come back with", () => {
  let svc: ReturnType<
    typeof createServiceClient<{
      schemas: { InputParameters: Record<string, unknown>; OutputParameters: Record<string, unknown> };
    }>
  >;
  beforeAll(async () => {
    await publishService(client, {
      name: "kinds",
      version: "1",
      code: [
        "import time",
        "if mode == 'fail':\n    print('about to fail')\n    raise ValueError('bad input: ' + str(n))",
        "if mode == 'slow':\n    time.sleep(5)",
        "if mode == 'loud':\n    print('x' * 200000)",
        "import numpy, pandas",
        "assert isinstance(frame, pandas.DataFrame) and isinstance(vec, numpy.ndarray) and isinstance(grid, " +
          "numpy.matrix), 'types as ML Server maps them'",
        "rows = frame.assign(total=frame['a'] + frame['b'])",
        "doubled = vec * 2",
        "transposed = grid.T",
        "negated = not flag",
        "with open('summary.csv', 'w') as f:\n    f.write('n,%d\\n' % n)",
      ].join("\n"),
      inputs: { mode: "character", n: "integer", frame: "data.frame", vec: "vector", grid: "matrix", flag: "logical" },
      outputs: { rows: "data.frame", doubled: "vector", transposed: "matrix", negated: "logical" },
      outputFileNames: ["summary.csv"],
    });
    svc = createServiceClient<{
      schemas: { InputParameters: Record<string, unknown>; OutputParameters: Record<string, unknown> };
    }>({ baseUrl: server.url, auth, name: "kinds", version: "1" });
  });
  const base = {
    n: 3,
    frame: [
      { a: 1, b: 2 },
      { a: 3, b: 4 },
    ],
    vec: [1, 2.5],
    grid: [
      [1, 2],
      [3, 4],
    ],
    flag: true,
  };

  it(
    "data frames as pandas DataFrames (sent as columns or records, returned as columns), vectors and matrices " +
      "as numpy, and the files it wrote",
    async () => {
      const result = await svc.consume({ mode: "ok", ...base });
      expect(result.outputs).toEqual({
        rows: { a: [1, 3], b: [2, 4], total: [3, 7] },
        doubled: [2, 5],
        transposed: [
          [1, 3],
          [2, 4],
        ],
        negated: false,
      });
      // The column form ML Server sends, and a missing value (R's NA) as null both ways.
      const columns = await svc.consume({ mode: "ok", ...base, frame: { a: [1, null], b: [2, 4] } });
      expect(columns.outputs.rows).toEqual({ a: [1, null], b: [2, 4], total: [3, null] });
      expect(new TextDecoder().decode(result.outputFiles["summary.csv"])).toBe("n,3\n");
      expect(result.changedFiles).toContain("summary.csv");
    },
  );

  it("a failing run is a typed error carrying the error message and the console output", async () => {
    const error = (await svc
      .consume({ mode: "fail", ...base })
      .catch((e: unknown) => hygiene.error(e))) as ServiceExecutionError;
    expect(error).toBeInstanceOf(ServiceExecutionError);
    expect(error.code).toBe("ERR_SERVICE_FAILED");
    expect(error.errorMessage).toBe("ValueError: bad input: 3");
    expect(error.consoleOutput).toBe("about to fail\n");
  });

  it("a run past the time limit, or printing past the output limit, is stopped and reported", async () => {
    await expect(svc.consume({ mode: "slow", ...base })).rejects.toMatchObject({
      code: "ERR_SERVICE_FAILED",
      errorMessage: expect.stringMatching(/longer than the 1500 ms limit/),
    });
    await expect(svc.consume({ mode: "loud", ...base })).rejects.toMatchObject({
      code: "ERR_SERVICE_FAILED",
      errorMessage: expect.stringMatching(/more than 65536 bytes of console output/),
    });
  });

  it(
    "a finished batch run's files are listed and downloaded by its index; runBatch follows a batch started " +
      "elsewhere",
    async () => {
      let id = "";
      const results = await svc.runBatch(
        [
          { mode: "ok", ...base },
          { mode: "ok", ...base, n: 7 },
        ],
        { intervalMs: 50, onStart: (started) => (id = started) },
      );
      expect(results).toHaveLength(2);
      expect(await svc.listBatches()).toContain(id);
      expect(await svc.batchFiles(id, 1)).toEqual(["summary.csv"]);
      expect(new TextDecoder().decode(await svc.batchFile(id, 1, "summary.csv"))).toBe("n,7\n");
      await expect(svc.batchFile(id, 1, "nope.csv")).rejects.toMatchObject({ code: "ERR_NOT_FOUND" });
      // Another process, knowing only the id, gets the same results without starting again.
      const executionsBefore = server.counters.executions;
      const again = await svc.runBatch([], { executionId: id, intervalMs: 50 });
      expect(again.map((r) => (r instanceof Error ? r.message : r.outputs))).toEqual(
        results.map((r) => (r instanceof Error ? r.message : r.outputs)),
      );
      expect(server.counters.executions).toBe(executionsBefore);
    },
  );

  it("a batch can be cancelled, and an AbortSignal stops polling", async () => {
    const id = await svc.startBatch(
      Array.from({ length: 30 }, () => ({ mode: "ok", ...base })),
      { parallelCount: 1 },
    );
    const status = await svc.batchStatus(id);
    expect(status.total).toBe(30);
    await svc.cancelBatch(id);
    await expect(svc.batchStatus(id)).rejects.toMatchObject({ code: "ERR_NOT_FOUND", status: 404 });
    // Aborting runBatch is the cancellation: polling and the batch on the server stop together.
    const controller = new AbortController();
    let started: string | undefined;
    const polling = svc.runBatch(
      Array.from({ length: 30 }, () => ({ mode: "ok", ...base })),
      {
        parallelCount: 1,
        intervalMs: 50,
        signal: controller.signal,
        onStart: (id) => (started = id),
        onProgress: () => controller.abort(),
      },
    );
    await expect(polling).rejects.toMatchObject({ name: "AbortError" });
    expect(await svc.listBatches()).not.toContain(started);
    // ...unless asked to leave it running.
    const leaving = new AbortController();
    let left: string | undefined;
    const following = svc.runBatch(
      Array.from({ length: 30 }, () => ({ mode: "ok", ...base })),
      {
        parallelCount: 1,
        intervalMs: 50,
        signal: leaving.signal,
        leaveRunningOnAbort: true,
        onStart: (id) => (left = id),
        onProgress: () => leaving.abort(),
      },
    );
    await expect(following).rejects.toMatchObject({ name: "AbortError" });
    expect(await svc.listBatches()).toContain(left);
    // A batch cancelled elsewhere while it is followed: a typed error saying so, not a bare 404.
    const elsewhere = svc.runBatch(
      Array.from({ length: 30 }, () => ({ mode: "ok", ...base })),
      { parallelCount: 1, intervalMs: 50, onStart: (id) => void svc.cancelBatch(id).catch(() => undefined) },
    );
    await expect(elsewhere).rejects.toBeInstanceOf(BatchCancelledError);
    await expect(
      svc.runBatch([], {
        executionId: left!,
        intervalMs: 50,
        onProgress: () => void svc.cancelBatch(left!).catch(() => undefined),
      }),
    ).rejects.toMatchObject({
      code: "ERR_BATCH_CANCELLED",
      executionId: left,
    });
  });

  it.skipIf(rMissing)(
    "publishService and publishFromSession publish R; the service client consumes it with a data frame",
    async () => {
      await publishService(client, {
        name: "r-double",
        version: "1",
        runtimeType: "R",
        code: "y <- x * 2",
        inputs: { x: "numeric" },
        outputs: { y: "numeric" },
      });
      const double = createServiceClient<{
        schemas: { InputParameters: { x: number }; OutputParameters: { y: number } };
      }>({ baseUrl: server.url, auth, name: "r-double", version: "1" });
      expect((await double.consume({ x: 21 })).outputs).toEqual({ y: 42 });
      const published = await publishFromSession(client, {
        name: "r-stopping",
        version: "1",
        runtimeType: "R",
        setupCode: "fit <- lm(dist ~ speed, cars)\ncat('fitted', length(coef(fit)), 'coefficients\\n')",
        code: "dist <- round(predict(fit, cars_in), 2)",
        inputs: { cars_in: "data.frame" },
        outputs: { dist: "vector" },
      });
      expect(published.setupOutput).toBe("fitted 2 coefficients\n");
      const stopping = createServiceClient<{
        schemas: { InputParameters: { cars_in: { speed: number[] } }; OutputParameters: { dist: number[] } };
      }>({
        baseUrl: server.url,
        auth,
        name: "r-stopping",
        version: "1",
      });
      expect((await stopping.consume({ cars_in: { speed: [10, 20] } })).outputs).toEqual({ dist: [21.74, 61.07] });
      await deleteService(client, { name: "r-double", version: "1" });
      await deleteService(client, { name: "r-stopping", version: "1" });
    },
  );
});

describe("publish helpers surface ML Server's error cases as typed errors", () => {
  it("409 when the name and version exist, 403 when another user owns the name, 404 when gone", async () => {
    await publishService(client, { name: "owned", version: "1", code: "y = 1" });
    await expect(publishService(client, { name: "owned", version: "1", code: "y = 2" })).rejects.toMatchObject({
      code: "ERR_SERVICE_EXISTS",
      status: 409,
      name: "ServiceExistsError",
    });
    const other = createMlServerClient({
      baseUrl: server.url,
      auth: mlServerLogin({ username: "other", password: "Other-Pa55word!" }),
    });
    hygiene.secret("Other-Pa55word!");
    await expect(publishService(other, { name: "owned", version: "2", code: "y = 1" })).rejects.toMatchObject({
      code: "ERR_FORBIDDEN",
      status: 403,
    });
    await expect(updateService(other, { name: "owned", version: "1", description: "mine" })).rejects.toMatchObject({
      code: "ERR_FORBIDDEN",
    });
    await expect(deleteService(other, { name: "owned", version: "1" })).rejects.toMatchObject({
      code: "ERR_FORBIDDEN",
    });
    await updateService(client, { name: "owned", version: "1", description: "v1", alias: "ownedScore" });
    expect(
      (await client.GET("/services/{name}/{version}", { params: { path: { name: "owned", version: "1" } } })).data?.[0],
    ).toMatchObject({ description: "v1", operationId: "ownedScore" });
    await deleteService(client, { name: "owned", version: "1" });
    await expect(deleteService(client, { name: "owned", version: "1" })).rejects.toMatchObject({
      code: "ERR_NOT_FOUND",
      status: 404,
    });
  });
});

describe("listing and reading services", () => {
  it(
    "listServices narrows by name, publisher and runtime; getService reads one version or is a " + "NotFoundError",
    async () => {
      await publishService(client, { name: "listed", version: "1", code: "y = 1", description: "first" });
      await publishService(client, { name: "listed", version: "2", code: "y = 2" });
      const other = createMlServerClient({
        baseUrl: server.url,
        auth: mlServerLogin({ username: "other", password: "Other-Pa55word!" }),
      });
      await publishService(other, { name: "theirs", version: "1", code: "y = 3" });
      expect((await listServices(client, { name: "listed" })).map((s) => s.version).sort()).toEqual(["1", "2"]);
      expect((await listServices(client, { publishedBy: "other" })).map((s) => s.name)).toEqual(["theirs"]);
      expect(await listServices(client, { runtimeType: "R" })).toEqual([]);
      expect((await listServices(client)).map((s) => s.name)).toEqual(expect.arrayContaining(["listed", "theirs"]));
      expect(await getService(client, { name: "listed", version: "1" })).toMatchObject({
        name: "listed",
        version: "1",
        description: "first",
        versionPublishedBy: "admin",
      });
      await expect(getService(client, { name: "listed", version: "9" })).rejects.toMatchObject({
        code: "ERR_NOT_FOUND",
      });
      for (const [name, version, owner] of [
        ["listed", "1", client],
        ["listed", "2", client],
        ["theirs", "1", other],
      ] as const)
        await deleteService(owner, { name, version });
    },
  );
});

describe("remote execution (mrsdeploy's remoteExecute), from the library", () => {
  it(
    "runs code in a new session with files in and out, inputs and outputs, a snapshot, output streamed as " +
      "printed, and closes the session",
    async () => {
      const chunks: { text: string; at: number }[] = [];
      let finishedAt = 0;
      const sessionsBefore = server.sessions.size;
      const run = await remoteExecute(client, {
        code:
          "import time\nprint('reading', open('data.csv').read().strip())\ntime.sleep(0.8)\ntotal = " +
          "sum(int(x) for x in open('data.csv').read().split())\nopen('total.txt', 'w').write(str(total * " +
          "factor))\nprint('done')",
        files: { "data.csv": "1 2 3" },
        inputs: { factor: 10 },
        outputs: ["total"],
        getFiles: "changed",
        snapshotName: "remote",
        pollMs: 100,
        onOutput: (text) => chunks.push({ text, at: Date.now() }),
      }).finally(() => (finishedAt = Date.now()));
      expect(run).toMatchObject({
        outputs: { total: 6 },
        changedFiles: ["total.txt"],
      });
      expect(new TextDecoder().decode(run.files["total.txt"])).toBe("60");
      expect(chunks.map((c) => c.text).join("")).toBe("reading 1 2 3\ndone\n");
      // The first line arrived while the code was still sleeping (0.8 s, well within the server's 1.5 s limit), not
      // with the result.
      expect(chunks[0]!.text).toBe("reading 1 2 3\n");
      expect(chunks[0]!.at).toBeLessThan(finishedAt - 300);
      expect(server.snapshots.has(run.snapshotId!)).toBe(true);
      expect(server.sessions.size).toBe(sessionsBefore);
    },
  );

  it(
    "a failing run is a RemoteExecutionError with the run's message, never a 404 for the files it did not " +
      "write; an abort cancels the run; the session is closed either way",
    async () => {
      const sessionsBefore = server.sessions.size;
      const failed = await remoteExecute(client, { code: "print('before')\nraise ValueError('nope')" }).catch(
        (error: unknown) => error,
      );
      expect(failed).toBeInstanceOf(RemoteExecutionError);
      expect(failed).toMatchObject({
        code: "ERR_REMOTE_EXECUTION_FAILED",
        errorMessage: "ValueError: nope",
        consoleOutput: "before\n",
        missingFiles: [],
      });
      // The newcomer's case: the script fails before writing what was asked for.
      const early = await remoteExecute(client, {
        runtimeType: "R",
        code: 'writeLines("partial", "partial.txt")\nstop("early failure")',
        getFiles: ["partial.txt", "out.txt"],
      }).catch((error: unknown) => error);
      expect(early).toBeInstanceOf(RemoteExecutionError);
      const error = early as RemoteExecutionError;
      expect(error.message).toMatch(/early failure/);
      expect(error.message).toMatch(/out\.txt/);
      expect(error.missingFiles).toEqual(["out.txt"]);
      expect(new TextDecoder().decode(error.files["partial.txt"])).toBe("partial\n");
      // A run that succeeded but did not write a requested file: the server's 404, as before.
      await expect(remoteExecute(client, { code: "x = 1", getFiles: ["never.txt"] })).rejects.toMatchObject({
        code: "ERR_NOT_FOUND",
      });
      const controller = new AbortController();
      const started = Date.now();
      const aborted = remoteExecute(client, {
        code: "import time\nprint('long')\ntime.sleep(60)",
        pollMs: 50,
        signal: controller.signal,
        onOutput: () => controller.abort(new Error("stop")),
      });
      await expect(aborted).rejects.toThrow("stop");
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(server.sessions.size).toBe(sessionsBefore);
    },
  );
});

describe(
  "session files and workspace objects (mrsdeploy's putLocalFile, getRemoteFile, putLocalObject, " + "getRemoteObject)",
  () => {
    it(
      "move files and serialised objects in and out of an existing session, which remoteExecute then uses and " +
        "leaves open",
      async () => {
        const created = await client.POST("/sessions", { body: { runtimeType: "Python" } });
        const sessionId = created.data!.sessionId!;
        try {
          await putSessionFiles(client, { sessionId, files: { "rates.txt": "0.5" } });
          // A pickle (protocol 0) of {'base': 10}.
          await putWorkspaceObject(client, {
            sessionId,
            name: "config",
            bytes: new TextEncoder().encode("(dp0\nVbase\np1\nI10\ns."),
          });
          const run = await remoteExecute(client, {
            sessionId,
            code:
              "scaled = config['base'] * float(open('rates.txt').read())\nopen('scaled.txt', " +
              "'w').write(str(scaled))",
            outputs: ["scaled"],
          });
          expect(run).toMatchObject({ outputs: { scaled: 5 } });
          expect(new TextDecoder().decode(await getSessionFile(client, { sessionId, fileName: "scaled.txt" }))).toBe(
            "5.0",
          );
          const pickled = await getWorkspaceObject(client, { sessionId, name: "scaled" });
          const read = await promisify(execFile)(TEST_PYTHON, [
            "-c",
            "import pickle, sys; print(pickle.loads(bytes.fromhex(sys.argv[1])))",
            Buffer.from(pickled).toString("hex"),
          ]);
          expect(read.stdout).toBe("5.0\n");
          await expect(getSessionFile(client, { sessionId, fileName: "absent.txt" })).rejects.toMatchObject({
            code: "ERR_NOT_FOUND",
            status: 404,
          });
          await expect(getWorkspaceObject(client, { sessionId, name: "absent" })).rejects.toMatchObject({
            code: "ERR_NOT_FOUND",
            status: 404,
          });
          await expect(
            putWorkspaceObject(client, { sessionId, name: "junk", bytes: new Uint8Array([1, 2, 3]) }),
          ).rejects.toMatchObject({ code: "ERR_API_STATUS", status: 400 });
          expect(server.sessions.has(sessionId)).toBe(true);
        } finally {
          await client.DELETE("/sessions/{id}", { params: { path: { id: sessionId } } });
        }
      },
    );
  },
);

describe("a work queue (DeployR's RBroker), from the library", () => {
  it(
    "runs at most `concurrency` at once, higher priorities first, counts progress, cancels queued and running " +
      "tasks, and says when it is idle",
    async () => {
      await publishService(client, {
        name: "queued",
        version: "1",
        code: "import time\nif x < 0:\n    raise ValueError('negative')\ntime.sleep(0.2)\ny = x",
        inputs: { x: "integer" },
        outputs: { y: "integer" },
      });
      const svc = createServiceClient<{ schemas: { InputParameters: { x: number }; OutputParameters: { y: number } } }>(
        {
          baseUrl: server.url,
          auth,
          name: "queued",
          version: "1",
        },
      );
      let maxRunning = 0;
      const queue = createWorkQueue(svc, {
        concurrency: 2,
        onProgress: (c) => (maxRunning = Math.max(maxRunning, c.running)),
      });
      const loginsBefore = server.counters.logins;
      const finished: number[] = [];
      const track = (task: { result: Promise<{ outputs: { y?: number } }> }) =>
        task.result.then(
          (r) => void finished.push(r.outputs.y!),
          () => undefined,
        );
      const low = [0, 1, 2, 3, 4, 5].map((x) => queue.submit({ x }));
      const high = queue.submit({ x: 100 }, { priority: 5 });
      const failing = queue.submit({ x: -1 });
      for (const task of [...low, high]) void track(task);
      expect(queue.counts).toMatchObject({ running: 2, queued: 6 });
      low[5]!.cancel();
      await expect(low[5]!.result).rejects.toMatchObject({ name: "AbortError" });
      await expect(failing.result).rejects.toMatchObject({
        code: "ERR_SERVICE_FAILED",
        errorMessage: "ValueError: negative",
      });
      await queue.idle();
      // A running task (an idle queue starts it at once), cancelled: its call is abandoned.
      const running = queue.submit({ x: 7 });
      expect(queue.counts.running).toBe(1);
      running.cancel();
      await expect(running.result).rejects.toMatchObject({ name: "AbortError" });
      await queue.idle();
      expect(queue.counts).toEqual({ queued: 0, running: 0, done: 6, failed: 1, cancelled: 2 });
      expect(maxRunning).toBe(2);
      // The high-priority task overtook the low ones still queued when it came (4 could start only after two others
      // ended).
      expect(finished.indexOf(100)).toBeLessThan(finished.indexOf(4));
      expect(finished.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 100]);
      expect(server.counters.logins).toBe(loginsBefore);
      await deleteService(client, { name: "queued", version: "1" });
    },
  );
});

describe("a service's dedicated pool, from the library", () => {
  it(
    "setServicePool starts its shells at once, servicePoolStatus reports it per compute node, " +
      "deleteServicePool removes it; only the publisher may",
    async () => {
      const log = join(await tempDir(), "init.log");
      await publishService(client, {
        name: "pooled",
        version: "1",
        code: "y = 1",
        initCode: `open(${JSON.stringify(log)}, "a").write("init\\n")`,
        outputs: { y: "integer" },
      });
      expect(await servicePoolStatus(client, { name: "pooled", version: "1" })).toEqual([
        { computeNode: server.url, status: "NotFound" },
      ]);
      expect(await setServicePool(client, { name: "pooled", version: "1", initialSize: 2, maxSize: 3 })).toBe(
        "Created",
      );
      // Two shells ran the init code, before any call.
      for (
        let i = 0;
        i < 600 && !(existsSync(log) && readFileSync(log, "utf8").split("\n").filter(Boolean).length === 2);
        i++
      )
        await new Promise((r) => setTimeout(r, 50));
      expect(readFileSync(log, "utf8")).toBe("init\ninit\n");
      expect(await servicePoolStatus(client, { name: "pooled", version: "1" })).toEqual([
        { computeNode: server.url, status: "Success" },
      ]);
      expect(await setServicePool(client, { name: "pooled", version: "1", initialSize: 1, maxSize: 1 })).toBe(
        "Updated",
      );
      const other = createMlServerClient({
        baseUrl: server.url,
        auth: mlServerLogin({ username: "other", password: "Other-Pa55word!" }),
      });
      await expect(
        setServicePool(other, { name: "pooled", version: "1", initialSize: 1, maxSize: 1 }),
      ).rejects.toMatchObject({ code: "ERR_FORBIDDEN" });
      await expect(
        setServicePool(client, { name: "pooled", version: "1", initialSize: 3, maxSize: 1 }),
      ).rejects.toMatchObject({
        status: 400,
        message: expect.stringMatching(/InitialPoolSize \(3\) may not exceed MaxPoolSize \(1\)/),
      });
      await deleteServicePool(client, { name: "pooled", version: "1" });
      expect(await servicePoolStatus(client, { name: "pooled", version: "1" })).toEqual([
        { computeNode: server.url, status: "NotFound" },
      ]);
      await expect(deleteServicePool(client, { name: "pooled", version: "1" })).rejects.toMatchObject({
        code: "ERR_NOT_FOUND",
      });
      await deleteService(client, { name: "pooled", version: "1" });
    },
  );
});

describeWithSpecs("the dev server's per-service swagger has the structure of the real ones", () => {
  const shape = (doc: any, base: string) => {
    const paths = Object.fromEntries(
      Object.entries(doc.paths as Record<string, any>).map(([p, ops]) => [
        p.replace(base, "/api/{service}"),
        Object.fromEntries(
          Object.entries(ops).map(([m, o]: [string, any]) => [
            m,
            {
              operationId: p === base ? "(the alias)" : o.operationId,
              parameters: (o.parameters ?? []).map((x: any) => `${x.in}:${x.name}:${x.type ?? "schema"}`).sort(),
              responses: Object.keys(o.responses).sort(),
              security: o.security ?? null,
            },
          ]),
        ),
      ]),
    );
    const definitions = Object.fromEntries(
      Object.entries(doc.definitions as Record<string, any>)
        .filter(([k]) => !/Parameters$/.test(k))
        .map(([k, v]) => [k, Object.keys(v.properties).sort()]),
    );
    return { swagger: doc.swagger, securityDefinitions: doc.securityDefinitions, paths, definitions };
  };

  it("matches Microsoft's Double-V1.0 service swagger path by path, schema by schema", () => {
    const real = JSON.parse(readFileSync(join(SPECS_DIR, "services/per-service-swagger-Double-V1.0.json"), "utf8"));
    // Double-V1.0 comes from a 2017-era server: revoke in the path form (the dev server's legacyRevokePath).
    const ours = serviceSwagger(
      {
        name: "Double",
        version: "V1.0",
        inputParameterDefinitions: [{ name: "x", type: "integer" }],
        outputParameterDefinitions: [{ name: "y", type: "integer" }],
      },
      { revoke: "path" },
    );
    expect(shape(ours, "/api/Double/V1.0")).toEqual(shape(real, "/api/Double/V1.0"));
    expect((ours as any).definitions.InputParameters.properties.x.type).toBe(
      real.definitions.InputParameters.properties.x.type,
    );
  });

  it("lists revoke as 9.3 services do by default: DELETE /login/refreshToken?refreshToken=", () => {
    const real = JSON.parse(readFileSync(join(SPECS_DIR, "services/per-service-swagger-rainService-1.0.json"), "utf8"));
    const ours = serviceSwagger({ name: "rainService", version: "1.0" });
    const revoke = (doc: any) => (shape(doc, "/api/rainService/1.0").paths as any)["/login/refreshToken"].delete;
    expect(revoke(ours)).toEqual(revoke(real));
    expect(revoke(ours).parameters).toEqual(["query:refreshToken:string"]);
    expect((ours as any).paths["/login/refreshToken/{refreshToken}"]).toBeUndefined();
  });

  it("types inputs and outputs as the real ones do (numeric, character)", () => {
    const real = JSON.parse(readFileSync(join(SPECS_DIR, "services/per-service-swagger-weatherService.json"), "utf8"));
    const ours = serviceSwagger({
      name: "WeatherService",
      version: "v1.0.0",
      operationId: "getWeatherReport",
      inputParameterDefinitions: [
        { name: "latitude", type: "numeric" },
        { name: "longitude", type: "numeric" },
      ],
      outputParameterDefinitions: [{ name: "report", type: "character" }],
    }) as any;
    expect(ours.definitions.InputParameters).toEqual(real.definitions.InputParameters);
    expect(ours.definitions.OutputParameters).toEqual(real.definitions.OutputParameters);
    expect(ours.paths["/api/WeatherService/v1.0.0"].post.operationId).toBe(
      real.paths["/api/WeatherService/v1.0.0"].post.operationId,
    );
  });
});

describe("the example", () => {
  it("npm run example:services publishes, checks its generated types, consumes and batches", async () => {
    const { stdout } = await run("npm", ["run", "-s", "example:services"], { timeout: 180_000 });
    const lines = stdout.replace(/\r/g, "\n").split("\n");
    expect(lines).toContain("2. Checked the generated types against GET /api/loan-score/1.0/swagger.json");
    expect(lines.find((l) => l.startsWith("3. "))).toMatch(
      /score 0\.433, approved false; it printed "scored 12000 against 52000"$/,
    );
    expect(lines.find((l) => l.startsWith("5. "))).toMatch(
      /^5\. 40 results, 25 approved, 0 failed; token renewals while it ran: [1-9]\d*, 401s resent: \d+$/,
    );
    expect(lines).toContain("6. Deleted the service and signed out");
  });
});

describe("secret hygiene", () => {
  it("no password or token appears in any error or debug line of this file", () => {
    expect(hygiene.leaks()).toEqual([]);
    hygiene.stop();
  });
});
