/**
 * The CLI against a server that lies: a proxy in front of the dev server that passes everything
 * through but rewrites what a hostile or impersonated ML Server would choose. It names files
 * `../x`, absolute paths, `.`, `..`, names with NUL, and a symlink already in the output folder;
 * it puts terminal control sequences in service names, descriptions, error messages and a run's
 * error. Each command that writes server-named files (`run`, `services batch --artifacts`,
 * `session`'s `get`) must exit 7 having written nothing (checked by walking the filesystem); each
 * human output must show control characters escaped; `--json` must stay exact; a run's console
 * output (the user's own program's) passes through unchanged.
 */
import { spawn } from "node:child_process";
import { lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, relative } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../devserver/server.js";
import { createMlServerClient, createServiceClient, mlServerLogin, publishService } from "../../src/index.js";
import { root } from "../support/packed.js";
import { TEST_PYTHON } from "../support/python.js";
import { tempDir } from "../support/tmp.js";

const PASSWORD = "Admin-Pa55word!";
/** A control character as it came, not escaped (newlines and tabs aside). */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
const BIN = join(root, "dist/bundle/src/cli/main.js");
/** What the lying server says, set by each test. */
interface Lies {
  fileNames?: string[];
  serviceText?: string;
  errorText?: string;
  runError?: string;
  console?: string;
}
let lies: Lies = {};
let server: DevServer;
let proxy: Server;
let proxyUrl: string;
let batchId: string;

/** Forwards to the dev server, then rewrites the answer where a lie is set. */
async function answer(
  method: string,
  url: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<{ status: number; type: string; body: Buffer | string }> {
  const path = url.split("?")[0]!;
  if (lies.fileNames && method === "GET" && /\/files\/[^/]+$/.test(path))
    return { status: 200, type: "application/octet-stream", body: "written by the server" };
  if (lies.fileNames && method === "GET" && /\/batch\/[^/]+\/\d+\/files$/.test(path))
    return { status: 200, type: "application/json", body: JSON.stringify(lies.fileNames) };
  if (lies.errorText && method === "GET" && path === "/services/ghost/1.0")
    return { status: 404, type: "application/json", body: JSON.stringify({ message: lies.errorText }) };
  const upstream = await fetch(`${server.url}${url}`, {
    method,
    headers,
    ...(body.length > 0 && { body: new Uint8Array(body) }),
  });
  let text = Buffer.from(await upstream.arrayBuffer());
  const type = upstream.headers.get("content-type") ?? "application/octet-stream";
  if (method === "POST" && /^\/sessions\/[^/]+\/execute$/.test(path) && upstream.ok) {
    const result = JSON.parse(text.toString("utf8")) as Record<string, unknown>;
    if (lies.fileNames) result.changedFiles = lies.fileNames;
    if (lies.runError) Object.assign(result, { success: false, errorMessage: lies.runError });
    if (lies.console) result.consoleOutput = lies.console;
    text = Buffer.from(JSON.stringify(result));
  }
  if (lies.console && method === "GET" && /\/console-output$/.test(path))
    text = Buffer.from(JSON.stringify({ consoleOutput: lies.console }));
  if (lies.serviceText && method === "GET" && path === "/services" && upstream.ok) {
    const services = JSON.parse(text.toString("utf8")) as Record<string, unknown>[];
    text = Buffer.from(
      JSON.stringify(
        services.map((s) => ({ ...s, name: `${String(s.name)}${lies.serviceText}`, description: lies.serviceText })),
      ),
    );
  }
  return { status: upstream.status, type, body: text };
}

beforeAll(async () => {
  server = await startDevServer({ python: TEST_PYTHON });
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(
          ([k, v]) => typeof v === "string" && !["host", "content-length", "connection"].includes(k),
        ),
      ) as Record<string, string>;
      answer(req.method!, req.url!, headers, Buffer.concat(chunks)).then(
        (a) => res.writeHead(a.status, { "content-type": a.type }).end(a.body),
        (error: Error) => res.writeHead(502).end(error.message),
      );
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  // A real batch of one row, whose artifacts the lying server then names.
  const auth = mlServerLogin({ username: "admin", password: PASSWORD });
  const client = createMlServerClient({ baseUrl: server.url, auth });
  await publishService(client, {
    name: "writer",
    version: "1.0",
    code: "open('out.txt', 'w').write('x')\ny = x",
    inputs: { x: "numeric" },
    outputs: { y: "numeric" },
  });
  const service = createServiceClient<{ schemas: { InputParameters: { x: number }; OutputParameters: { y: number } } }>(
    { baseUrl: server.url, auth, name: "writer", version: "1.0" },
  );
  await service.runBatch([{ x: 1 }], { onStart: (id) => (batchId = id) });
}, 120_000);
afterAll(async () => {
  await new Promise((resolve) => proxy?.close(resolve));
  await server?.close();
});
beforeEach(() => {
  lies = {};
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The built CLI, signed in by MLSERVER_PASSWORD, in `cwd`, with a home of its own. */
async function mlserver(args: string[], cwd: string, stdin = ""): Promise<Run> {
  const home = await tempDir("mlserver-hostile-home-");
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("MLSERVER_")),
  );
  Object.assign(env, {
    HOME: home,
    XDG_CACHE_HOME: join(home, "cache"),
    XDG_CONFIG_HOME: join(home, "config"),
    MLSERVER_SERVER: proxyUrl,
    MLSERVER_USERNAME: "admin",
    MLSERVER_PASSWORD: PASSWORD,
  });
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.on("error", reject);
    child.stdin.end(stdin);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Every file and link under `dir`, as relative paths (links marked), to compare before and after. */
function walk(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return [`${relative(base, path)}/`, ...walk(path, base)];
    return [`${relative(base, path)}${lstatSync(path).isSymbolicLink() ? " -> link" : ""}`];
  });
}

/** A work folder holding `out/` (the output folder, with a planted link) and a file outside it. */
async function workspace() {
  const work = await tempDir("mlserver-hostile-");
  const out = join(work, "nested", "out");
  mkdirSync(out, { recursive: true });
  writeFileSync(join(work, "outside.txt"), "the user's own file");
  symlinkSync(join(work, "outside.txt"), join(out, "planted"));
  writeFileSync(join(work, "script.py"), "print('hi')\n");
  return { work, out, before: walk(work) };
}

const HOSTILE = ["../x", "../../x", "sub/../../x", "/ABSOLUTE/x", "..", ".", "a\u0000b", "ok.txt\u001b]0;owned\u0007"];

describe("files named by a server", () => {
  it.each(HOSTILE.map((name) => [JSON.stringify(name), name]))(
    "run refuses %s with exit 7 and writes nothing",
    async (_, name) => {
      const { work, out, before } = await workspace();
      lies.fileNames = ["good.txt", name.replace("/ABSOLUTE", work)];
      const run = await mlserver(["run", "script.py", "--output-dir", out], work);
      expect(run.code, run.stderr).toBe(7);
      expect(run.stderr).toContain("ERR_UNSAFE_FILE_NAME");
      expect(run.stderr).not.toMatch(RAW_CONTROL);
      // Nothing of the run's files: not the bad one, and not the good one listed beside it.
      expect(walk(work)).toEqual(before);
      expect(readFileSync(join(work, "outside.txt"), "utf8")).toBe("the user's own file");
    },
  );

  it("run replaces a link already in the output folder rather than writing through it", async () => {
    const { work, out } = await workspace();
    lies.fileNames = ["planted", "good.txt"];
    const run = await mlserver(["run", "script.py", "--output-dir", out], work);
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(join(work, "outside.txt"), "utf8")).toBe("the user's own file");
    expect(lstatSync(join(out, "planted")).isSymbolicLink()).toBe(false);
    expect(readFileSync(join(out, "planted"), "utf8")).toBe("written by the server");
    expect(walk(out).sort()).toEqual(["good.txt", "planted"]);
  });

  it.each(HOSTILE.map((name) => [JSON.stringify(name), name]))(
    "services batch --artifacts refuses %s with exit 7 and writes nothing",
    async (_, name) => {
      const { work, out, before } = await workspace();
      lies.fileNames = ["good.txt", name.replace("/ABSOLUTE", work)];
      const run = await mlserver(
        ["services", "batch", "artifacts", "writer", "1.0", batchId, "--output-dir", out],
        work,
      );
      expect(run.code, run.stderr).toBe(7);
      expect(run.stderr).toContain("ERR_UNSAFE_FILE_NAME");
      expect(run.stderr).not.toMatch(RAW_CONTROL);
      expect(walk(work)).toEqual(before);
    },
  );

  it("session's get refuses a path with exit 7 and writes nothing", async () => {
    const { work, before } = await workspace();
    const run = await mlserver(["session", "--runtime", "Python"], work, "open('x', 'w').write('1')\nget ../x\n");
    expect(run.code, run.stderr).toBe(7);
    expect(run.stderr).toContain('named a file "../x", which is not a plain file name');
    expect(walk(work)).toEqual(before);
  });
});

describe("text from a server on the terminal", () => {
  const TITLE = "\u001b]0;owned\u0007";
  const CLEAR = "\u001b[2J\u009b31m";

  it("services list escapes names and descriptions in the table, and --json keeps them exact", async () => {
    const { work } = await workspace();
    lies.serviceText = `${TITLE}${CLEAR}`;
    const table = await mlserver(["services", "list"], work);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain("writer\\x1b]0;owned\\x07\\x1b[2J\\x9b31m");
    expect(table.stdout).not.toMatch(RAW_CONTROL);
    const json = await mlserver(["services", "list", "--json"], work);
    expect((JSON.parse(json.stdout) as { name: string; description: string }[])[0]!.description).toBe(
      `${TITLE}${CLEAR}`,
    );
  });

  it("an error quoting the server is escaped on stderr, as text and in --json", async () => {
    const { work } = await workspace();
    lies.errorText = `no such service${CLEAR}`;
    const human = await mlserver(["services", "get", "ghost", "1.0"], work);
    expect(human.code).toBe(4);
    expect(human.stderr).toContain("no such service\\x1b[2J");
    expect(human.stderr).not.toMatch(RAW_CONTROL);
    const json = await mlserver(["services", "get", "ghost", "1.0", "--json"], work);
    expect((JSON.parse(json.stderr) as { error: { message: string } }).error.message).toContain(
      `no such service${CLEAR}`,
    );
  });

  it(
    "a run's error is escaped, while its console output (the user's own program's) passes through " + "unchanged",
    async () => {
      const { work } = await workspace();
      lies.runError = `Traceback${TITLE}`;
      lies.console = "progress\u001b[1mbold\u001b[0m\n";
      const run = await mlserver(["run", "script.py"], work);
      expect(run.code).toBe(5);
      expect(run.stdout).toContain("progress\u001b[1mbold\u001b[0m");
      expect(run.stderr).toContain("Traceback\\x1b]0;owned\\x07");
      expect(run.stderr).not.toMatch(RAW_CONTROL);
    },
  );
});
