// R on the dev server, over real HTTP: services with ML Server's R types, warm shells, limits and
// orphans; sessions with R workspaces, serialised objects, files, cancel and snapshots; and a
// dev server without R, which says so. R runs for real (Debian's r-base-core and r-cran-jsonlite).
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../devserver/server.js";
import { processesWith, until } from "../support/processes.js";
import { TEST_PYTHON } from "../support/python.js";
import { rMissing, runR, TEST_R } from "../support/r.js";

let server: DevServer;
let token: string;
const scratch = mkdtempSync(join(tmpdir(), "devserver-r-"));

async function signIn(s: DevServer): Promise<string> {
  const login = await fetch(`${s.url}/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password: "Admin-Pa55word!" }),
  });
  return ((await login.json()) as { access_token: string }).access_token;
}

const call = (path: string, init: RequestInit = {}, s = server, bearer = token) =>
  fetch(`${s.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json", ...init.headers },
  });
const post = (path: string, body: unknown) => call(path, { method: "POST", body: JSON.stringify(body) });
const definitions = (o: Record<string, string>) => Object.entries(o).map(([name, type]) => ({ name, type }));

async function publish(
  name: string,
  code: string,
  inputs: Record<string, string> = {},
  outputs: Record<string, string> = {},
  extra: Record<string, unknown> = {},
): Promise<void> {
  const response = await post(`/services/${name}/1`, {
    code,
    runtimeType: "R",
    inputParameterDefinitions: definitions(inputs),
    outputParameterDefinitions: definitions(outputs),
    ...extra,
  });
  expect(response.status, await response.clone().text()).toBe(201);
}

interface Answer {
  success?: boolean;
  errorMessage?: string;
  consoleOutput?: string;
  outputParameters?: Record<string, unknown>;
  outputFiles?: Record<string, string>;
  message?: string;
}
const consume = async (name: string, inputs: unknown): Promise<Answer> =>
  (await (await post(`/api/${name}/1`, inputs)).json()) as Answer;

interface SessionRun {
  success: boolean;
  errorMessage: string;
  consoleOutput: string;
  changedFiles: string[];
  outputParameters: { name: string; value: unknown }[];
}
async function rSession(body: Record<string, unknown> = { runtimeType: "R" }): Promise<string> {
  const created = await post("/sessions", body);
  expect(created.status, await created.clone().text()).toBe(201);
  return ((await created.json()) as { sessionId: string }).sessionId;
}
const execute = async (
  id: string,
  code: string,
  outputParameters: string[] = [],
  inputParameters: { name: string; value: unknown }[] = [],
) => (await (await post(`/sessions/${id}/execute`, { code, outputParameters, inputParameters })).json()) as SessionRun;

/** The entries of a zip archive, as Python's zipfile (an independent reader) lists them. */
function zipEntries(archive: Buffer): string[] {
  const listed = spawnSync(
    TEST_PYTHON,
    [
      "-c",
      "import io, sys, zipfile; z = zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read())); assert z.testzip() is " +
        "None; print('\\n'.join(z.namelist()))",
    ],
    {
      input: archive,
      encoding: "utf8",
    },
  );
  if (listed.status !== 0) throw new Error(listed.stderr);
  return listed.stdout.trim().split("\n");
}

describe.skipIf(rMissing)("R on the dev server", () => {
  beforeAll(async () => {
    server = await startDevServer({
      python: TEST_PYTHON,
      r: TEST_R,
      executionLimits: { timeMs: 4000, outputBytes: 64 * 1024 },
    });
    token = await signIn(server);
  }, 180_000);
  afterAll(async () => {
    await server?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  describe("services", () => {
    it("binds ML Server's R types (NA for null) and sends outputs back in the same JSON forms", async () => {
      await publish(
        "types",
        'total <- n + i\nflag <- !l\ngreeting <- paste("hello", s)\ndoubled <- v * 2\ntm <- t(m)\ndf$z <- df$a ' +
          "* 2\nrows <- nrow(df)\nmissing <- is.na(maybe)\nkind <- class(i)",
        {
          n: "numeric",
          i: "integer",
          l: "logical",
          s: "character",
          v: "vector",
          m: "matrix",
          df: "data.frame",
          maybe: "numeric",
        },
        {
          total: "numeric",
          flag: "logical",
          greeting: "character",
          doubled: "vector",
          tm: "matrix",
          df: "data.frame",
          rows: "integer",
          missing: "logical",
          kind: "character",
        },
      );
      const answer = await consume("types", {
        n: 1.5,
        i: 2,
        l: true,
        s: "R",
        v: [1, 2, null],
        m: [
          [1, 2],
          [3, 4],
        ],
        df: { a: [1, null], b: ["x", "y"] },
        maybe: null,
      });
      expect(answer).toMatchObject({ success: true, errorMessage: "" });
      expect(answer.outputParameters).toEqual({
        total: 3.5,
        flag: false,
        greeting: "hello R",
        doubled: [2, 4, null],
        tm: [
          [1, 3],
          [2, 4],
        ],
        df: { a: [1, null], b: ["x", "y"], z: [2, null] },
        rows: 2,
        missing: true,
        kind: "integer",
      });
      // A data frame sent as records binds too, and a vector of one stays an array.
      const records = await consume("types", {
        n: 0,
        i: 0,
        l: false,
        s: "",
        v: [5],
        m: [[1]],
        df: [
          { a: 1, b: "x" },
          { a: 2, b: "y" },
          { a: 3, b: "z" },
        ],
        maybe: 1,
      });
      expect(records.outputParameters).toMatchObject({ doubled: [10], rows: 3, missing: false, df: { z: [2, 4, 6] } });
      // A value of the wrong type is refused before any R runs, naming the input.
      const wrong = await post("/api/types/1", { n: "one" });
      expect(wrong.status).toBe(400);
      expect(await wrong.text()).toMatch(/input parameter 'n' is declared numeric/);
    });

    it("the init code runs once per shell; every request starts from its state; output files come back", async () => {
      const log = join(scratch, "init.log");
      await publish(
        "warm",
        'calls <- calls + 1\ny <- base + x\nwriteLines(paste("answer", y), "result.txt")',
        { x: "numeric" },
        { y: "numeric", calls: "numeric" },
        {
          initCode: `base <- 100\ncalls <- 0\ncat("init\\n", file = ${JSON.stringify(log)}, append = TRUE)`,
          outputFileNames: ["result.txt"],
        },
      );
      for (const x of [1, 2, 3]) {
        const answer = await consume("warm", { x });
        expect(answer).toMatchObject({ success: true, outputParameters: { y: 100 + x, calls: 1 } });
        expect(Buffer.from(answer.outputFiles!["result.txt"]!, "base64").toString()).toBe(`answer ${100 + x}\n`);
      }
      expect(readFileSync(log, "utf8")).toBe("init\n");
    });

    it(
      "a failed run says why: stop(), quit(status =), R's own errors, an output JSON cannot hold, an output " +
        "never set",
      async () => {
        await publish(
          "fails",
          "if (how == 'stop') stop('bad input')\nif (how == 'quit') quit(status = 3)\nif (how == 'log') y <- " +
            "log('a')\nif (how == 'nan') y <- NaN\nif (how == 'env') y <- new.env()\nif (how == 'exit') " +
            "base::quit(status = 4)",
          { how: "character" },
          { y: "numeric" },
        );
        const why = async (how: string) => (await consume("fails", { how })).errorMessage;
        expect(await why("stop")).toBe("Error: bad input");
        expect(await why("quit")).toBe("the code called quit(status = 3)");
        expect(await why("log")).toBe('Error in log("a"): non-numeric argument to mathematical function');
        expect(await why("nan")).toBe(
          "output parameter 'y' cannot be sent as JSON: NaN and infinity have no JSON form",
        );
        expect(await why("env")).toMatch(
          /^output parameter 'y' cannot be sent as JSON: No method asJSON S3 class: environment/,
        );
        expect(await why("none")).toBe("output parameter 'y' was not set by the code");
        expect(await why("exit")).toBe("R exited with status 4");
        // The shell that died was replaced: the service still answers.
        expect(await why("stop")).toBe("Error: bad input");
      },
    );

    it("the time limit stops the run and what it started; a run's children never outlive it", async () => {
      await publish("stuck", 'system("sleep 89.75", wait = FALSE)\nSys.sleep(60)');
      expect(await consume("stuck", {})).toMatchObject({
        success: false,
        errorMessage: "the code ran longer than the 4000 ms limit and was stopped",
      });
      await until(() => processesWith("sleep 89.75").length === 0, 5000);
      await publish("spawns", 'system("sleep 88.75", wait = FALSE)\ny <- 1', {}, { y: "numeric" });
      expect(await consume("spawns", {})).toMatchObject({ success: true, outputParameters: { y: 1 } });
      await until(() => processesWith("sleep 88.75").length === 0, 5000);
    });

    it("console output, messages and warnings included, is capped: a print loop is stopped at the limit", async () => {
      await publish("talks", 'print(1:3)\nmessage("note")\nwarning("careful")\ny <- 1', {}, { y: "numeric" });
      expect(await consume("talks", {})).toMatchObject({
        success: true,
        consoleOutput: "[1] 1 2 3\nnote\nWarning: careful\n",
      });
      await publish("flood", 'repeat cat(strrep("x", 10000), "\\n")');
      const flood = await consume("flood", {});
      expect(flood.errorMessage).toBe("the code produced more than 65536 bytes of console output and was stopped");
      expect(flood.consoleOutput!.length).toBeLessThanOrEqual(65536);
      await publish("stderr-flood", 'repeat message(strrep("e", 10000))');
      expect((await consume("stderr-flood", {})).errorMessage).toMatch(/more than 65536 bytes of console output/);
    });

    it("the per-service swagger types an R service's inputs and outputs as ML Server does", async () => {
      const swagger = (await (await call("/api/types/1/swagger.json")).json()) as {
        definitions: Record<string, { properties: Record<string, { type: string; description: string }> }>;
      };
      expect(swagger.definitions.InputParameters!.properties).toMatchObject({
        n: { type: "number" },
        i: { type: "integer" },
        l: { type: "boolean" },
        s: { type: "string" },
        v: { type: "array" },
        m: { type: "array" },
        df: { type: "object", description: "data.frame" },
      });
    });

    it("a dev server SIGKILLed with R runs in progress leaves none of their processes behind", async () => {
      const host = spawn(
        process.execPath,
        ["--import", "tsx", join(import.meta.dirname, "../support/devserver-host.ts"), "87.25", "86.25", "R"],
        {
          stdio: ["ignore", "pipe", "inherit"],
          env: { ...process.env, MLSERVER_TEST_R: TEST_R, MLSERVER_TEST_PYTHON: TEST_PYTHON },
        },
      );
      await new Promise<void>((resolve, reject) => {
        host.stdout.on("data", (chunk: Buffer) => chunk.toString().includes("READY") && resolve());
        host.once("exit", (code) => reject(new Error(`the host exited early (${code})`)));
      });
      await until(() => processesWith("sleep 87.25").length === 1 && processesWith("sleep 86.25").length === 1, 60_000);
      host.kill("SIGKILL");
      await until(() => processesWith("sleep 87.25").length + processesWith("sleep 86.25").length === 0, 10_000);
    }, 180_000);
  });

  describe("sessions", () => {
    it(
      "run R code with the workspace kept between calls, console output and history; R is the default " + "runtime",
      async () => {
        const id = await rSession({ name: "r-work" });
        const first = await execute(id, "total <- x * 2\nprint(total)", [], [{ name: "x", value: 21 }]);
        expect(first).toMatchObject({ success: true, consoleOutput: "[1] 42\n" });
        const second = await execute(id, 'total <- total + 1\nmessage("to stderr")', ["total"]);
        expect(second).toMatchObject({
          success: true,
          outputParameters: [{ name: "total", value: 43 }],
          consoleOutput: "to stderr\n",
        });
        expect(await (await call(`/sessions/${id}/console-output`)).json()).toEqual({ consoleOutput: "to stderr\n" });
        expect(await (await call(`/sessions/${id}/history`)).json()).toHaveLength(2);
        expect(await (await call(`/sessions/${id}/workspace`)).json()).toEqual(["total", "x"]);
        expect(await (await call("/sessions")).json()).toContainEqual({
          id,
          name: "r-work",
          owner: "admin",
          runtimeType: "R",
        });
        expect(await execute(id, "stop('no')")).toMatchObject({ success: false, errorMessage: "Error: no" });
        expect(await execute(id, "quit()")).toMatchObject({
          success: false,
          errorMessage: "the code called quit(status = 0)",
        });
        // The workspace survived both.
        expect(await execute(id, "t2 <- total", ["t2"])).toMatchObject({
          outputParameters: [{ name: "t2", value: 43 }],
        });
        expect((await call(`/sessions/${id}`, { method: "DELETE" })).status).toBe(200);
      },
    );

    it(
      "workspace objects are R serialisations, as mrsdeploy's putLocalObject and getRemoteObject move " + "them",
      async () => {
        const id = await rSession();
        const serialised = runR('writeBin(serialize(list(a = 1, b = "x"), NULL), out)');
        const put = await call(`/sessions/${id}/workspace/obj`, {
          method: "POST",
          body: new Uint8Array(serialised),
          headers: { "content-type": "application/octet-stream" },
        });
        expect(put.status).toBe(200);
        expect(await execute(id, "s <- obj$b\nfit <- lm(dist ~ speed, cars)", ["s"])).toMatchObject({
          success: true,
          outputParameters: [{ name: "s", value: "x" }],
        });
        // saveRDS's gzip form is accepted too.
        const rds = runR(
          'con <- rawConnection(raw(0), "wb"); saveRDS(1:3, con); writeBin(rawConnectionValue(con), out)',
        );
        expect(
          (
            await call(`/sessions/${id}/workspace/ints`, {
              method: "POST",
              body: new Uint8Array(rds),
              headers: { "content-type": "application/octet-stream" },
            })
          ).status,
        ).toBe(200);
        expect(await execute(id, "n <- sum(ints)", ["n"])).toMatchObject({
          outputParameters: [{ name: "n", value: 6 }],
        });
        // Downloaded, a model unserialises in another R and still predicts.
        const fit = Buffer.from(await (await call(`/sessions/${id}/workspace/fit`)).arrayBuffer());
        expect(
          runR(
            'fit <- unserialize(readBin(file("stdin", "rb"), "raw", 1e7)); cat(round(predict(fit, ' +
              "data.frame(speed = 10)), 2))",
            fit,
          ).toString(),
        ).toBe("21.74");
        const bad = await call(`/sessions/${id}/workspace/junk`, {
          method: "POST",
          body: "not R",
          headers: { "content-type": "application/octet-stream" },
        });
        expect(bad.status).toBe(400);
        expect(await bad.text()).toMatch(/not an R object serialised with serialize\(\)/);
        expect((await call(`/sessions/${id}/workspace/obj`, { method: "DELETE" })).status).toBe(200);
        expect((await call(`/sessions/${id}/workspace/obj`)).status).toBe(404);
        await call(`/sessions/${id}`, { method: "DELETE" });
      },
    );

    it("files: upload, read by code, written files listed and downloaded, deleted", async () => {
      const id = await rSession();
      const form = new FormData();
      form.append("file", new Blob(["a,b\n1,2\n3,4\n"]), "data.csv");
      expect(
        (
          await fetch(`${server.url}/sessions/${id}/files`, {
            method: "POST",
            body: form,
            headers: { authorization: `Bearer ${token}` },
          })
        ).status,
      ).toBe(201);
      const run = await execute(id, 'd <- read.csv("data.csv")\ntotal <- sum(d$b)\nwriteLines("done", "out.txt")', [
        "total",
      ]);
      expect(run).toMatchObject({
        success: true,
        outputParameters: [{ name: "total", value: 6 }],
        changedFiles: ["out.txt"],
      });
      expect(await (await call(`/sessions/${id}/files/out.txt`)).text()).toBe("done\n");
      expect((await call(`/sessions/${id}/files/out.txt`, { method: "DELETE" })).status).toBe(200);
      expect(await (await call(`/sessions/${id}/files`)).json()).toEqual(["data.csv"]);
      await call(`/sessions/${id}`, { method: "DELETE" });
    });

    it(
      "cancel interrupts running R code and keeps the workspace; close while running is 409, by force it " + "closes",
      async () => {
        const id = await rSession();
        await execute(id, "kept <- 7");
        const running = execute(id, 'cat("started\\n"); flush(stdout()); Sys.sleep(30)');
        await until(
          async () =>
            ((await (await call(`/sessions/${id}/console-output`)).json()) as { consoleOutput: string })
              .consoleOutput === "started\n",
          30_000,
        );
        expect((await call(`/sessions/${id}`, { method: "DELETE" })).status).toBe(409);
        expect(await (await call(`/sessions/${id}/cancel`, { method: "POST" })).text()).toBe('"Cancelled"');
        expect(await running).toMatchObject({ success: false, errorMessage: "the run was cancelled" });
        expect(await execute(id, "k <- kept", ["k"])).toMatchObject({
          success: true,
          outputParameters: [{ name: "k", value: 7 }],
        });
        void execute(id, "Sys.sleep(30)");
        await until(
          () =>
            server.sessions.get(id) !== undefined &&
            (server.sessions.get(id) as unknown as { kernel: { busy: boolean } }).kernel.busy,
        );
        expect((await call(`/sessions/${id}/force`, { method: "DELETE" })).status).toBe(200);
      },
    );

    it(
      "snapshots hold the R workspace (.RData) and files; a session starts from one; runtimes do " + "not mix",
      async () => {
        const id = await rSession();
        await execute(id, 'rate <- 0.5\nwriteLines("kept", "table.txt")');
        const taken = await post(`/sessions/${id}/snapshot`, { name: "r-v1" });
        expect(taken.status).toBe(201);
        const { snapshotId } = (await taken.json()) as { snapshotId: string };
        expect(await (await call("/snapshots")).json()).toContainEqual(
          expect.objectContaining({ id: snapshotId, name: "r-v1", runtimeType: "R" }),
        );
        expect(zipEntries(Buffer.from(await (await call(`/snapshots/${snapshotId}`)).arrayBuffer())).sort()).toEqual([
          "files/table.txt",
          "workspace.RData",
        ]);

        await execute(id, 'rate <- 9\nfile.remove("table.txt")');
        expect((await call(`/sessions/${id}/loadsnapshot/${snapshotId}`, { method: "POST" })).status).toBe(200);
        expect(await execute(id, 'r <- rate\nt <- readLines("table.txt")', ["r", "t"])).toMatchObject({
          outputParameters: [
            { name: "r", value: 0.5 },
            { name: "t", value: "kept" },
          ],
        });
        const fresh = await rSession({ runtimeType: "R", snapshotId });
        expect(await execute(fresh, "r <- rate * 2", ["r"])).toMatchObject({
          outputParameters: [{ name: "r", value: 1 }],
        });

        const python = await post("/sessions", { runtimeType: "Python", snapshotId });
        expect(python.status).toBe(400);
        expect(await python.text()).toMatch(/holds a R workspace; load it into a R session/);
        const publishedWrong = await post("/services/wrong-runtime/1", {
          code: "y = rate",
          runtimeType: "Python",
          snapshotId,
        });
        expect(publishedWrong.status).toBe(400);
      },
    );

    it("a service published from an R snapshot starts every call from it", async () => {
      const id = await rSession();
      await execute(id, "fit <- lm(dist ~ speed, cars)");
      const { snapshotId } = (await (await post(`/sessions/${id}/snapshot`, { name: "model" })).json()) as {
        snapshotId: string;
      };
      await publish(
        "score",
        "dist <- round(predict(fit, data.frame(speed = speed)), 2)",
        { speed: "vector" },
        { dist: "vector" },
        { snapshotId },
      );
      expect(await consume("score", { speed: [10, 20] })).toMatchObject({
        success: true,
        outputParameters: { dist: [21.74, 61.07] },
      });
      await call(`/snapshots/${snapshotId}`, { method: "DELETE" });
      expect(await consume("score", { speed: [4] })).toMatchObject({
        success: true,
        outputParameters: { dist: [-1.85] },
      });
    });
  });
});

describe("a dev server without R", () => {
  let bare: DevServer;
  let bareToken: string;
  beforeAll(async () => {
    bare = await startDevServer({ r: join(scratch, "no-such-Rscript") });
    bareToken = await signIn(bare);
  });
  afterAll(() => bare.close());

  it("answers R services and R sessions (the default runtime) with a 400 saying R is not installed", async () => {
    const send = (path: string, body: unknown) =>
      call(path, { method: "POST", body: JSON.stringify(body) }, bare, bareToken);
    for (const [path, body] of [
      ["/services/r-model/1", { code: "y <- x", runtimeType: "R" }],
      ["/services/default-runtime/1", { code: "y <- x" }],
      ["/sessions", { runtimeType: "R" }],
      ["/sessions", {}],
    ] as const) {
      const answer = await send(path, body);
      expect(answer.status).toBe(400);
      expect(await answer.text()).toMatch(/R is not installed here .*apt install r-base-core r-cran-jsonlite/);
    }
  });
});
