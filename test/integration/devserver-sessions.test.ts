// Sessions, snapshots, pools, compute nodes and realtime PATCH on the dev server, driven over HTTP
// with the typed client; Python runs for real.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../devserver/server.js";
import {
  createMlServerClient,
  createServiceClient,
  mlServerLogin,
  publishFromSession,
  type MlServerClient,
} from "../../src/index.js";
import { until } from "../support/processes.js";
import { TEST_PYTHON } from "../support/python.js";

let server: DevServer;
let alice: MlServerClient;
let bob: MlServerClient;
let admin: MlServerClient;

beforeAll(async () => {
  server = await startDevServer({
    python: TEST_PYTHON,
    users: [
      { username: "alice", password: "alice-Pa55word" },
      { username: "bob", password: "bob-Pa55word" },
      { username: "admin", password: "Admin-Pa55word!" },
    ],
    executionLimits: { timeMs: 4000 },
  });
  const login = (username: string, password: string) =>
    createMlServerClient({ baseUrl: server.url, auth: mlServerLogin({ username, password }) });
  alice = login("alice", "alice-Pa55word");
  bob = login("bob", "bob-Pa55word");
  admin = login("admin", "Admin-Pa55word!");
});
afterAll(() => server.close());

const at = (id: string) => ({ params: { path: { id } } });
const octets = (bytes: Uint8Array) => ({
  body: new Blob([bytes as BlobPart]) as never,
  bodySerializer: (b: unknown) => b as Blob,
  headers: { "content-type": "application/octet-stream" },
});

async function pythonSession(client = alice): Promise<string> {
  const created = await client.POST("/sessions", { body: { name: "work", runtimeType: "Python" } });
  expect(created.response.status).toBe(201);
  return created.data!.sessionId!;
}

describe("a Python session keeps one process with its variables", () => {
  it(
    "runs code with inputs and outputs, keeps variables between calls, and records console output and " + "history",
    async () => {
      const id = await pythonSession();
      const first = await alice.POST("/sessions/{id}/execute", {
        ...at(id),
        body: { code: "total = x * 2\nprint('doubled', total)", inputParameters: [{ name: "x", value: 21 }] },
      });
      expect(first.data).toMatchObject({ success: true, consoleOutput: "doubled 42\n" });
      const second = await alice.POST("/sessions/{id}/execute", {
        ...at(id),
        body: { code: "import sys\ntotal += 1\nprint('to stderr', file=sys.stderr)", outputParameters: ["total"] },
      });
      expect(second.data).toMatchObject({
        success: true,
        outputParameters: [{ name: "total", value: 43 }],
        consoleOutput: "to stderr\n",
      });
      expect((await alice.GET("/sessions/{id}/console-output", at(id))).data).toEqual({ consoleOutput: "to stderr\n" });
      expect((await alice.GET("/sessions/{id}/history", at(id))).data).toHaveLength(2);
      // Inputs become variables.
      expect((await alice.GET("/sessions/{id}/workspace", at(id))).data).toEqual(["x", "total"]);
      expect((await alice.GET("/sessions", {})).data).toContainEqual({
        id,
        name: "work",
        owner: "alice",
        runtimeType: "Python",
      });
      expect((await bob.GET("/sessions/{id}/workspace", at(id))).response.status).toBe(404);
      await alice.DELETE("/sessions/{id}", at(id));
      expect((await alice.GET("/sessions/{id}/workspace", at(id))).response.status).toBe(404);
    },
  );

  it("a failing run says why: an exception, sys.exit, an output JSON cannot hold, an output never set", async () => {
    const id = await pythonSession();
    const run = async (code: string, outputParameters: string[] = []) =>
      (await alice.POST("/sessions/{id}/execute", { ...at(id), body: { code, outputParameters } })).data!;
    expect(await run("1/0")).toMatchObject({ success: false, errorMessage: "ZeroDivisionError: division by zero" });
    expect(await run("import sys; sys.exit(3)")).toMatchObject({
      success: false,
      errorMessage: "the code called sys.exit(3)",
    });
    expect(await run("y = float('inf')", ["y"])).toMatchObject({
      success: false,
      errorMessage: expect.stringMatching(/'y' cannot be sent as JSON: NaN and infinity/),
    });
    expect(await run("pass", ["never"])).toMatchObject({
      success: false,
      errorMessage: "output parameter 'never' was not set by the code",
    });
    expect(await run("z = 1", ["z"])).toMatchObject({ success: true });
  });

  it(
    "workspace objects are pickles: download one, upload it under another name, delete it; a non-pickle is " + "a 400",
    async () => {
      const id = await pythonSession();
      await alice.POST("/sessions/{id}/execute", { ...at(id), body: { code: "model = {'weights': [1, 2, 3]}" } });
      const downloaded = await alice.GET("/sessions/{id}/workspace/{objectName}", {
        params: { path: { id, objectName: "model" } },
        parseAs: "arrayBuffer",
      });
      const pickle = new Uint8Array(downloaded.data as ArrayBuffer);
      expect(pickle[0]).toBe(0x80); // the pickle protocol opcode

      const other = await pythonSession();
      expect(
        (
          await alice.POST("/sessions/{id}/workspace/{objectName}", {
            params: { path: { id: other, objectName: "copy" } },
            ...octets(pickle),
          })
        ).response.status,
      ).toBe(200);
      const read = await alice.POST("/sessions/{id}/execute", {
        ...at(other),
        body: { code: "n = sum(copy['weights'])", outputParameters: ["n"] },
      });
      expect(read.data!.outputParameters).toEqual([{ name: "n", value: 6 }]);

      const junk = await alice.POST("/sessions/{id}/workspace/{objectName}", {
        params: { path: { id: other, objectName: "junk" } },
        ...octets(new Uint8Array([1, 2, 3])),
      });
      expect(junk.response.status).toBe(400);
      expect(JSON.stringify(junk.error)).toMatch(/not a Python pickle/);
      expect(
        (
          await alice.DELETE("/sessions/{id}/workspace/{objectName}", {
            params: { path: { id: other, objectName: "copy" } },
          })
        ).response.status,
      ).toBe(200);
      expect(
        (
          await alice.DELETE("/sessions/{id}/workspace/{objectName}", {
            params: { path: { id: other, objectName: "copy" } },
          })
        ).response.status,
      ).toBe(404);
    },
  );

  it("files: upload, list, read by code, download, delete; a path in a name is refused", async () => {
    const id = await pythonSession();
    const upload = (name: string, text: string) =>
      alice.POST("/sessions/{id}/files", {
        ...at(id),
        body: { file: new Blob([text]) },
        bodySerializer: (b) => {
          const form = new FormData();
          form.append("file", b.file, name);
          return form;
        },
      });
    expect((await upload("data.csv", "a,b\n1,2\n")).response.status).toBe(201);
    expect((await alice.GET("/sessions/{id}/files", at(id))).data).toEqual(["data.csv"]);
    const run = await alice.POST("/sessions/{id}/execute", {
      ...at(id),
      body: {
        code: "rows = open('data.csv').read().splitlines()\nopen('out.txt', 'w').write('done')",
        outputParameters: ["rows"],
      },
    });
    expect(run.data).toMatchObject({
      success: true,
      outputParameters: [{ name: "rows", value: ["a,b", "1,2"] }],
      changedFiles: ["out.txt"],
    });
    const file = await alice.GET("/sessions/{id}/files/{fileName}", {
      params: { path: { id, fileName: "out.txt" } },
      parseAs: "text",
    });
    expect(file.data).toBe("done");
    expect(
      (await alice.DELETE("/sessions/{id}/files/{fileName}", { params: { path: { id, fileName: "out.txt" } } }))
        .response.status,
    ).toBe(200);
    expect(
      (await alice.GET("/sessions/{id}/files/{fileName}", { params: { path: { id, fileName: "out.txt" } } })).response
        .status,
    ).toBe(404);
    expect((await upload("../escape.txt", "x")).response.status).toBe(400);
    expect(
      (await alice.GET("/sessions/{id}/files/{fileName}", { params: { path: { id, fileName: "../../etc/passwd" } } }))
        .response.status,
    ).toBe(400);
  });

  it(
    "cancel stops a running execution and keeps the session's variables; close while running is 409, by force " +
      "it closes",
    async () => {
      const id = await pythonSession();
      await alice.POST("/sessions/{id}/execute", { ...at(id), body: { code: "kept = 'yes'" } });
      const running = alice.POST("/sessions/{id}/execute", {
        ...at(id),
        body: { code: "import time\nprint('started', flush=True)\ntime.sleep(30)" },
      });
      await until(
        async () => (await alice.GET("/sessions/{id}/console-output", at(id))).data?.consoleOutput === "started\n",
      );
      expect((await alice.DELETE("/sessions/{id}", at(id))).response.status).toBe(409);
      expect((await alice.POST("/sessions/{id}/cancel", at(id))).data).toBe("Cancelled");
      expect((await running).data).toMatchObject({
        success: false,
        errorMessage: "the run was cancelled",
        consoleOutput: "started\n",
      });
      const after = await alice.POST("/sessions/{id}/execute", {
        ...at(id),
        body: { code: "pass", outputParameters: ["kept"] },
      });
      expect(after.data!.outputParameters).toEqual([{ name: "kept", value: "yes" }]);

      const stuck = alice.POST("/sessions/{id}/execute", { ...at(id), body: { code: "import time\ntime.sleep(30)" } });
      await until(
        () =>
          server.sessions.has(id) && (server.sessions.get(id) as unknown as { kernel: { busy: boolean } }).kernel.busy,
      );
      expect((await alice.DELETE("/sessions/{id}/force", at(id))).response.status).toBe(200);
      expect((await stuck).data).toMatchObject({ success: false });
      expect(server.sessions.has(id)).toBe(false);
    },
  );

  it("a session whose Python process died answers 410 Gone, and can still be closed", async () => {
    const id = await pythonSession();
    const died = await alice.POST("/sessions/{id}/execute", { ...at(id), body: { code: "import os; os._exit(7)" } });
    expect(died.data).toMatchObject({ success: false, errorMessage: "Python exited with status 7" });
    const gone = await alice.GET("/sessions/{id}/workspace", at(id));
    expect(gone.response.status).toBe(410);
    expect((await alice.DELETE("/sessions/{id}", at(id))).response.status).toBe(200);
  });
});

describe("snapshots", () => {
  it(
    "saves variables and files, lists, downloads as zip, loads into a session, deletes; others' snapshots " + "are 404",
    async () => {
      const id = await pythonSession();
      await alice.POST("/sessions/{id}/execute", {
        ...at(id),
        body: { code: "rate = 0.5\nopen('table.txt', 'w').write('kept')" },
      });
      const taken = await alice.POST("/sessions/{id}/snapshot", { ...at(id), body: { name: "v1" } });
      expect(taken.response.status).toBe(201);
      const snapshotId = taken.data!.snapshotId!;
      const listed = (await alice.GET("/snapshots", {})).data!;
      expect(listed).toContainEqual(
        expect.objectContaining({ id: snapshotId, name: "v1", owner: "alice", contentSize: expect.any(Number) }),
      );
      const archive = await alice.GET("/snapshots/{id}", { ...at(snapshotId), parseAs: "arrayBuffer" });
      expect([...new Uint8Array(archive.data as ArrayBuffer).subarray(0, 2)]).toEqual([0x50, 0x4b]); // "PK"

      await alice.POST("/sessions/{id}/execute", {
        ...at(id),
        body: { code: "import os\nrate = 9\nos.remove('table.txt')" },
      });
      expect(
        (await alice.POST("/sessions/{id}/loadsnapshot/{snapshotId}", { params: { path: { id, snapshotId } } }))
          .response.status,
      ).toBe(200);
      const restored = await alice.POST("/sessions/{id}/execute", {
        ...at(id),
        body: { code: "text = open('table.txt').read()", outputParameters: ["rate", "text"] },
      });
      expect(restored.data!.outputParameters).toEqual([
        { name: "rate", value: 0.5 },
        { name: "text", value: "kept" },
      ]);

      const fresh = (await alice.POST("/sessions", { body: { runtimeType: "Python", snapshotId } })).data!.sessionId!;
      expect((await alice.GET("/sessions/{id}/workspace", at(fresh))).data).toEqual(["rate"]);
      expect((await bob.GET("/snapshots/{id}", at(snapshotId))).response.status).toBe(404);
      expect((await bob.DELETE("/snapshots/{id}", at(snapshotId))).response.status).toBe(404);
      expect((await alice.DELETE("/snapshots/{id}", at(snapshotId))).data).toBe("Deleted");
      expect((await alice.GET("/snapshots/{id}", at(snapshotId))).response.status).toBe(404);
    },
  );

  it(
    "publishFromSession: session, files, setup code, snapshot, close, publish; every call starts from the " +
      "snapshot",
    async () => {
      const before = server.sessions.size;
      const published = await publishFromSession(alice, {
        name: "from-snapshot",
        version: "1.0",
        files: { "offsets.txt": "100" },
        setupCode: "weights = {'a': 2}\noffset = int(open('offsets.txt').read())\nprint('trained')",
        code: "score = weights['a'] * x + offset + int(open('offsets.txt').read())",
        inputs: { x: "numeric" },
        outputs: { score: "numeric" },
      });
      expect(published).toMatchObject({ url: `${server.url}/api/from-snapshot/1.0`, setupOutput: "trained\n" });
      expect(server.sessions.size).toBe(before);
      const service = createServiceClient<{
        schemas: { InputParameters: { x: number }; OutputParameters: { score: number } };
      }>({
        baseUrl: server.url,
        auth: mlServerLogin({ username: "alice", password: "alice-Pa55word" }),
        name: "from-snapshot",
        version: "1.0",
      });
      expect((await service.consume({ x: 3 })).outputs).toEqual({ score: 206 });
      // The service keeps its starting state even once the snapshot itself is deleted.
      await alice.DELETE("/snapshots/{id}", at(published.snapshotId));
      expect((await service.consume({ x: 1 })).outputs).toEqual({ score: 202 });
    },
  );

  it(
    "publishFromSession: failing setup code is a ServiceExecutionError, and leaves no session or snapshot " + "behind",
    async () => {
      const sessions = server.sessions.size;
      const snapshots = server.snapshots.size;
      await expect(
        publishFromSession(alice, {
          name: "broken",
          version: "1",
          setupCode: "print('loading')\nraise ValueError('no data')",
          code: "y = 1",
        }),
      ).rejects.toMatchObject({
        code: "ERR_SERVICE_FAILED",
        errorMessage: "ValueError: no data",
        consoleOutput: "loading\n",
      });
      expect([server.sessions.size, server.snapshots.size]).toEqual([sessions, snapshots]);
    },
  );
});

describe("service pools, compute nodes and realtime PATCH", () => {
  it("pools: only the owner creates, resizes or removes one; status shows it per compute node", async () => {
    await alice.POST("/services/{name}/{version}", {
      params: { path: { name: "pooled", version: "1" } },
      body: { code: "y = 1", runtimeType: "Python" },
    });
    const where = { params: { path: { name: "pooled", version: "1" } } };
    expect((await alice.GET("/services/{name}/{version}/pool", where)).data).toEqual([
      { ComputeNodeEndpoint: server.url, Status: "NotFound" },
    ]);
    expect(
      (await bob.POST("/services/{name}/{version}/pool", { ...where, body: { InitialPoolSize: 1, MaxPoolSize: 2 } }))
        .response.status,
    ).toBe(403);
    expect(
      (await alice.POST("/services/{name}/{version}/pool", { ...where, body: { InitialPoolSize: 3, MaxPoolSize: 2 } }))
        .response.status,
    ).toBe(400);
    expect(
      (await alice.POST("/services/{name}/{version}/pool", { ...where, body: { InitialPoolSize: 1, MaxPoolSize: 2 } }))
        .data,
    ).toBe("Created");
    expect(
      (await alice.POST("/services/{name}/{version}/pool", { ...where, body: { InitialPoolSize: 2, MaxPoolSize: 4 } }))
        .data,
    ).toBe("Updated");
    expect((await alice.GET("/services/{name}/{version}/pool", where)).data).toEqual([
      { ComputeNodeEndpoint: server.url, Status: "Success" },
    ]);
    expect((await alice.DELETE("/services/{name}/{version}/pool", where)).data).toBe("Deleted");
    expect((await alice.DELETE("/services/{name}/{version}/pool", where)).response.status).toBe(404);
  });

  it("compute nodes: anyone reads, only admins change; addresses and ranges are checked", async () => {
    expect((await alice.POST("/computenodes", { body: { entries: ["http://10.0.0.1:12805"] } })).response.status).toBe(
      403,
    );
    expect(
      (
        await admin.POST("/computenodes", {
          body: { entries: ["http://10.0.0.1:12805", "http://10.0.0.2:12805-12807"] },
        })
      ).response.status,
    ).toBe(200);
    expect(
      (await admin.PUT("/computenodes", { body: { entries: ["http://10.0.0.3:12805", "http://10.0.0.1:12805"] } }))
        .response.status,
    ).toBe(200);
    expect((await alice.GET("/computenodes", {})).data).toEqual({
      computeNodes: ["http://10.0.0.1:12805", "http://10.0.0.2:12805-12807", "http://10.0.0.3:12805"],
    });
    expect((await admin.DELETE("/computenodes", { body: { entries: ["http://10.0.0.9:1"] } })).response.status).toBe(
      400,
    );
    expect(
      (await admin.DELETE("/computenodes", { body: { entries: ["http://10.0.0.1:12805"] } })).response.status,
    ).toBe(200);
    expect((await admin.POST("/computenodes", { body: { entries: ["not a node"] } })).response.status).toBe(400);
    expect((await alice.GET("/computenodes", {})).data!.computeNodes).toHaveLength(2);
  });

  it(
    "realtime: fields sent as file parts are stored as text; PATCH changes the model and description, owner " + "only",
    async () => {
      const form = new FormData();
      form.append("model", new Blob([new Uint8Array([1, 2, 3])]), "model.bin");
      form.append("description", new Blob(["scores loans"]), "description.txt"); // a text field sent as a file part
      const publish = await fetch(`${server.url}/realtime-services/rt/1`, {
        method: "POST",
        headers: { authorization: await bearer("alice", "alice-Pa55word") },
        body: form,
      });
      expect(publish.status).toBe(201);
      expect(server.services.get("rt\u00001")).toMatchObject({ description: "scores loans", modelBytes: 3 });
      const swagger = await alice.GET("/api/{name}/{version}/swagger.json", {
        params: { path: { name: "rt", version: "1" } },
      });
      expect((swagger.data as { info: { description: string } }).info.description).toBe("scores loans");

      const patch = new FormData();
      patch.append("description", "scores loans, v2");
      patch.append("model", new Blob([new Uint8Array(10)]), "model.bin");
      const byBob = await fetch(`${server.url}/realtime-services/rt/1`, {
        method: "PATCH",
        headers: { authorization: await bearer("bob", "bob-Pa55word") },
        body: patch,
      });
      expect(byBob.status).toBe(403);
      const byAlice = await fetch(`${server.url}/realtime-services/rt/1`, {
        method: "PATCH",
        headers: { authorization: await bearer("alice", "alice-Pa55word") },
        body: patch,
      });
      expect([byAlice.status, await byAlice.json()]).toEqual([200, "Updated"]);
      expect(server.services.get("rt\u00001")).toMatchObject({ description: "scores loans, v2", modelBytes: 10 });
    },
  );
});

/** A fresh bearer header for a user, from POST /login. */
async function bearer(username: string, password: string): Promise<string> {
  const login = await fetch(`${server.url}/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  return `Bearer ${((await login.json()) as { access_token: string }).access_token}`;
}
