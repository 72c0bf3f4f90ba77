// The dev server driven as clients nobody here wrote drive ML Server: Microsoft's Python SDK (the
// keys it reads, revoke without an access token, dill), swagger-codegen's JavaScript client (its
// two-space bearer header), Python's http.client and requests (connection reuse), a web page
// trying DNS rebinding, hostile nesting, and one user trying to reach another's batches.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { promisify } from "node:util";
import YAML from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolvePython } from "../../devserver/python.js";
import { startDevServer, type DevServer } from "../../devserver/server.js";
import { TEST_PYTHON } from "../support/python.js";

const run = promisify(execFile);
const ADMIN = { username: "admin", password: "Admin-Pa55word!" };
const ALICE = { username: "alice", password: "Alice-Pa55word!" };
const BOB = { username: "bob", password: "Bob-Pa55word!" };
let server: DevServer;

beforeAll(async () => {
  server = await startDevServer({
    python: TEST_PYTHON,
    users: [ADMIN, ALICE, BOB],
    executionLimits: { timeMs: 5000, sessions: 2 },
  });
});
afterAll(() => server?.close());

interface Tokens {
  access_token: string;
  refresh_token: string;
}
async function signIn(user: { username: string; password: string }, s = server): Promise<Tokens> {
  const response = await fetch(`${s.url}/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(user),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Tokens;
}

/** A request exactly as given (fetch would normalise the header), answered with status, headers and body. */
function rawRequest(
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${server.url}${path}`,
      { method: options.method ?? "GET", headers: options.headers, agent: false },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

const json = (token: string) => ({ authorization: `Bearer ${token}`, "content-type": "application/json" });

async function publish(token: string, name: string, body: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${server.url}/services/${name}/1`, {
    method: "POST",
    headers: json(token),
    body: JSON.stringify({ runtimeType: "Python", ...body }),
  });
  expect(response.status, await response.clone().text()).toBe(201);
}

describe("what Microsoft's clients send and read", () => {
  it("revoke needs no access token: the refresh token is the credential", async () => {
    const tokens = await signIn(ADMIN);
    const revoke = await rawRequest(`/login/refreshToken?refreshToken=${encodeURIComponent(tokens.refresh_token)}`, {
      method: "DELETE",
    });
    expect(revoke.status).toBe(200);
    const renew = await fetch(`${server.url}/login/refreshToken`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refreshToken: tokens.refresh_token }),
    });
    expect(renew.status).toBe(401);
    // The access tokens issued with it went too.
    expect((await rawRequest("/status", { headers: { authorization: `Bearer ${tokens.access_token}` } })).status).toBe(
      401,
    );
    // An unknown refresh token is still refused.
    expect((await rawRequest("/login/refreshToken?refreshToken=not-a-token", { method: "DELETE" })).status).toBe(401);
  });

  it("the legacy path form of revoke needs no access token either", async () => {
    const legacy = await startDevServer({ legacyRevokePath: true });
    try {
      const tokens = await signIn(ADMIN, legacy);
      const revoke = await fetch(`${legacy.url}/login/refreshToken/${encodeURIComponent(tokens.refresh_token)}`, {
        method: "DELETE",
      });
      expect(revoke.status).toBe(200);
      expect(legacy.counters.revokes).toBe(1);
    } finally {
      await legacy.close();
    }
  });

  it(
    "accepts `Bearer  <token>` with two spaces, as swagger-codegen's JavaScript client sends it (ASP.NET " + "trims)",
    async () => {
      const { access_token } = await signIn(ADMIN);
      expect((await rawRequest("/status", { headers: { authorization: `Bearer  ${access_token}` } })).status).toBe(200);
      expect((await rawRequest("/status", { headers: { authorization: `bearer ${access_token} ` } })).status).toBe(200);
      // Still refused: no scheme, another scheme, two tokens.
      for (const authorization of [access_token, `Basic ${access_token}`, `Bearer ${access_token} ${access_token}`]) {
        expect((await rawRequest("/status", { headers: { authorization } })).status).toBe(401);
      }
    },
  );

  it("fields the schema has are present, null when unset, in every response model", async () => {
    const { access_token } = await signIn(ADMIN);
    await publish(access_token, "bare", { code: "y = 1" });
    const doc = YAML.parse(readFileSync("openapi/mlserver.yaml", "utf8"));
    const deref = (node: any): any =>
      node?.$ref
        ? deref(
            node.$ref
              .slice(2)
              .split("/")
              .reduce((n: any, k: string) => n[k], doc),
          )
        : node;
    const schemaOf = (path: string, method: string, status = "200") =>
      deref(deref(doc.paths[path][method].responses[status]).content["application/json"].schema);
    const session = (await (
      await fetch(`${server.url}/sessions`, {
        method: "POST",
        headers: json(access_token),
        body: JSON.stringify({ runtimeType: "Python" }),
      })
    ).json()) as { sessionId: string };
    const snapshot = (await (
      await fetch(`${server.url}/sessions/${session.sessionId}/snapshot`, {
        method: "POST",
        headers: json(access_token),
        body: JSON.stringify({}),
      })
    ).json()) as {
      snapshotId: string;
    };
    const get = async (path: string) => (await fetch(`${server.url}${path}`, { headers: json(access_token) })).json();
    const cases: [string, string, string, unknown][] = [
      ["/services", "get", "200", await get("/services")],
      ["/services/{name}/{version}", "get", "200", await get("/services/bare/1")],
      ["/sessions", "get", "200", await get("/sessions")],
      ["/snapshots", "get", "200", await get("/snapshots")],
      ["/status", "get", "200", await get("/status")],
      ["/services/{name}/{version}/pool", "get", "200", await get("/services/bare/1/pool")],
      ["/sessions/{id}/console-output", "get", "200", await get(`/sessions/${session.sessionId}/console-output`)],
      [
        "/sessions/{id}/execute",
        "post",
        "200",
        await (
          await fetch(`${server.url}/sessions/${session.sessionId}/execute`, {
            method: "POST",
            headers: json(access_token),
            body: JSON.stringify({ code: "x = 1" }),
          })
        ).json(),
      ],
    ];
    for (const [path, method, status, body] of cases) {
      const schema = schemaOf(path, method, status);
      const objects = schema.type === "array" ? (body as unknown[]) : [body];
      const properties = Object.keys(deref(schema.type === "array" ? schema.items : schema).properties ?? {});
      expect(objects.length, `${method} ${path}`).toBeGreaterThan(0);
      for (const object of objects)
        expect(Object.keys(object as object), `${method} ${path}`).toEqual(expect.arrayContaining(properties));
    }
    // Microsoft's Python SDK reads these: a service published without them has them as null.
    expect(cases[1]![3]).toEqual([
      expect.objectContaining({
        description: null,
        initCode: null,
        snapshotId: null,
        operationId: null,
        outputFileNames: null,
      }),
    ]);
    expect(snapshot.snapshotId).toEqual(expect.any(String));
    await fetch(`${server.url}/sessions/${session.sessionId}/force`, { method: "DELETE", headers: json(access_token) });
  });

  it(
    "a batch start answers batchExecutionId (the spec, this client) and BatchExecutionId (Microsoft's Python " + "SDK)",
    async () => {
      const { access_token } = await signIn(ADMIN);
      await publish(access_token, "ids", {
        code: "y = x",
        inputParameterDefinitions: [{ name: "x", type: "integer" }],
        outputParameterDefinitions: [{ name: "y", type: "integer" }],
      });
      const response = await fetch(`${server.url}/api/ids/1/batch`, {
        method: "POST",
        headers: json(access_token),
        body: JSON.stringify([{ x: 1 }]),
      });
      expect(response.status).toBe(202);
      const body = (await response.json()) as { batchExecutionId: string; BatchExecutionId: string };
      expect(body.batchExecutionId).toEqual(expect.any(String));
      expect(body.BatchExecutionId).toBe(body.batchExecutionId);
    },
  );
});

describe("connection reuse after a refused request", () => {
  /** Sends two requests on one connection, as a client reusing connections does; returns both answers' heads. */
  function twoOnOneConnection(first: string, second: string): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const socket = connect(server.port, "127.0.0.1");
      let received = "";
      const answers: string[] = [];
      let sentSecond = false;
      const timer = setTimeout(() => {
        socket.destroy();
        resolve(answers);
      }, 10_000);
      socket.on("data", (chunk) => {
        received += chunk.toString("latin1");
        // One whole answer (these bodies carry a Content-Length).
        const end = received.indexOf("\r\n\r\n");
        if (end < 0) return;
        const length = Number(/content-length: (\d+)/i.exec(received.slice(0, end))?.[1] ?? 0);
        if (received.length < end + 4 + length) return;
        answers.push(received.slice(0, end));
        received = received.slice(end + 4 + length);
        const closing = /\r\nconnection: close/i.test(answers.at(-1)!);
        if (!sentSecond && !closing) {
          sentSecond = true;
          socket.write(second);
        } else {
          clearTimeout(timer);
          socket.end();
          resolve(answers);
        }
      });
      socket.on("error", reject);
      socket.write(first);
    });
  }

  const post = (path: string, body: string, extra = "") =>
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nContent-Type: ` +
    `application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
  const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`;

  it("a 401 before the body is read says Connection: close, or the connection answers the next request", async () => {
    const body = JSON.stringify({ code: "y = 1", runtimeType: "Python" }).padEnd(100_000, " ");
    for (const path of ["/services/reuse/1", "/api/reuse/1"]) {
      const answers = await twoOnOneConnection(post(path, body), get("/status"));
      expect(answers[0]).toMatch(/^HTTP\/1\.1 401 /);
      // Either the server says it closes (the client then opens a new connection), or it answers
      // the second request on this one: never a keep-alive promise followed by silence.
      if (answers.length === 1) expect(answers[0]).toMatch(/\r\nconnection: close/i);
      else expect(answers[1]).toMatch(/^HTTP\/1\.1 401 /);
    }
  });

  it("a refused request without a body keeps the connection, and the next request is answered on it", async () => {
    const answers = await twoOnOneConnection(get("/services"), get("/status"));
    expect(answers.map((a) => a.split("\r\n")[0])).toEqual(["HTTP/1.1 401 Unauthorized", "HTTP/1.1 401 Unauthorized"]);
  });

  it("Python's http.client and a requests.Session get every answer, 100 refused posts in a row", async () => {
    const script = String.raw`
import http.client, json, sys
port = int(sys.argv[1])
body = json.dumps({"code": "y = 1", "runtimeType": "Python"}) + " " * 50000
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
statuses = []
for i in range(100):
    conn.request("POST", "/services/reuse/%d" % i, body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    statuses.append(response.status)
try:
    import requests
    session = requests.Session()
    for i in range(100):
        url = "http://127.0.0.1:%d/services/reuse/%d" % (port, i)
        response = session.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=10)
        statuses.append(response.status_code)
except ImportError:
    pass
print(json.dumps(statuses))
`;
    const { stdout } = await run(TEST_PYTHON, ["-c", script, String(server.port)], { timeout: 110_000 });
    const statuses = JSON.parse(stdout) as number[];
    expect(statuses.length).toBeGreaterThanOrEqual(100);
    expect(statuses.every((s) => s === 401)).toBe(true);
  });
});

describe("no web page can drive it", () => {
  it("a Host that is not the server's loopback address is refused with 421 before anything else", async () => {
    const before = server.counters.logins;
    const body = JSON.stringify(ADMIN);
    const rebound = await rawRequest("/login", {
      method: "POST",
      headers: { host: "rebind.attacker.example", "content-type": "application/json" },
      body,
    });
    expect(rebound.status).toBe(421);
    expect(JSON.parse(rebound.body).message).toMatch(/allowedHosts/);
    for (const host of [
      "rebind.attacker.example:" + server.port,
      `127.0.0.1:${server.port + 1}`,
      "127.0.0.1",
      "localhost.attacker.example",
    ]) {
      expect((await rawRequest("/status", { headers: { host } })).status, host).toBe(421);
    }
    expect(server.counters.logins).toBe(before);
    // The counters route, too.
    expect((await rawRequest("/_devserver/counters", { headers: { host: "rebind.attacker.example" } })).status).toBe(
      421,
    );
    for (const host of [
      `127.0.0.1:${server.port}`,
      `localhost:${server.port}`,
      `LOCALHOST:${server.port}`,
      `[::1]:${server.port}`,
    ]) {
      expect(
        (await rawRequest("/login", { method: "POST", headers: { host, "content-type": "application/json" }, body }))
          .status,
        host,
      ).toBe(200);
    }
  });

  it("allowedHosts (--allowed-host) serves the names it lists", async () => {
    const named = await startDevServer({ allowedHosts: ["mlserver.internal"] });
    try {
      const status = (host: string) =>
        new Promise<number>((resolve, reject) => {
          httpRequest(
            `${named.url}/login`,
            { method: "POST", headers: { host, "content-type": "application/json" }, agent: false },
            (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            },
          )
            .on("error", reject)
            .end(JSON.stringify(ADMIN));
        });
      expect(await status("mlserver.internal:8080")).toBe(200);
      expect(await status("MLServer.Internal")).toBe(200);
      expect(await status("other.internal")).toBe(421);
    } finally {
      await named.close();
    }
  });
});

describe("hostile nesting", () => {
  const deep = (levels: number) => "[".repeat(levels) + "]".repeat(levels);

  it("a body nested thousands of levels deep is a 400 naming the limit, anywhere", async () => {
    const { access_token } = await signIn(ADMIN);
    const session = (await (
      await fetch(`${server.url}/sessions`, {
        method: "POST",
        headers: json(access_token),
        body: JSON.stringify({ runtimeType: "Python" }),
      })
    ).json()) as { sessionId: string };
    await publish(access_token, "nest", {
      code: "y = 1",
      inputParameterDefinitions: [{ name: "x", type: "vector" }],
      outputParameterDefinitions: [{ name: "y", type: "integer" }],
    });
    const bodies: [string, string][] = [
      ["/login", `{"username":"admin","password":${deep(5000)}}`],
      [
        `/sessions/${session.sessionId}/execute`,
        `{"code":"x = 1","inputParameters":[{"name":"v","value":${deep(2000)}}]}`,
      ],
      ["/services/nest2/1", `{"code":"y = 1","runtimeType":"Python","description":${deep(5000)}}`],
      ["/api/nest/1", `{"x":${deep(2000)}}`],
      ["/api/nest/1/batch", `[{"x":${deep(100_000)}}]`],
    ];
    for (const [path, body] of bodies) {
      const response = await fetch(`${server.url}${path}`, { method: "POST", headers: json(access_token), body });
      expect(response.status, path).toBe(400);
      expect(((await response.json()) as { message: string }).message, path).toMatch(/more than 64 levels deep/);
    }
    // The session's Python is untouched, and no timer of the refused run stops the next one.
    const after = await fetch(`${server.url}/sessions/${session.sessionId}/execute`, {
      method: "POST",
      headers: json(access_token),
      body: JSON.stringify({ code: "import time\ntime.sleep(1)\nx = 2", outputParameters: ["x"] }),
    });
    expect(await after.json()).toMatchObject({ success: true, outputParameters: [{ name: "x", value: 2 }] });
    // Nesting within the limit, and brackets inside strings, are fine.
    const fine = await fetch(`${server.url}/api/nest/1`, {
      method: "POST",
      headers: json(access_token),
      body: JSON.stringify({ x: ["[[[[[[[[[[".repeat(50)] }),
    });
    expect(fine.status).toBe(200);
    await fetch(`${server.url}/sessions/${session.sessionId}/force`, { method: "DELETE", headers: json(access_token) });
  });
});

describe("one user cannot reach or block another", () => {
  it("a batch is seen and cancelled by its owner and admins only", async () => {
    const alice = (await signIn(ALICE)).access_token;
    const bob = (await signIn(BOB)).access_token;
    const admin = (await signIn(ADMIN)).access_token;
    await publish(alice, "alices", {
      code: "import time\ntime.sleep(0.05)\ny = x",
      inputParameterDefinitions: [{ name: "x", type: "integer" }],
      outputParameterDefinitions: [{ name: "y", type: "integer" }],
    });
    const started = await fetch(`${server.url}/api/alices/1/batch?parallelCount=1`, {
      method: "POST",
      headers: json(alice),
      body: JSON.stringify(Array.from({ length: 40 }, (_, x) => ({ x }))),
    });
    const { batchExecutionId: id } = (await started.json()) as { batchExecutionId: string };
    const as = (token: string, path: string, method = "GET") =>
      fetch(`${server.url}/api/alices/1/batch${path}`, { method, headers: json(token) });
    expect((await as(bob, `/${id}`)).status).toBe(404);
    expect(await (await as(bob, "")).json()).toEqual([]);
    expect((await as(bob, `/${id}`, "DELETE")).status).toBe(404);
    expect((await as(bob, `/${id}/0/files`)).status).toBe(404);
    expect((await as(alice, `/${id}`)).status).toBe(200);
    expect(await (await as(admin, "")).json()).toEqual([id]);
    expect((await as(admin, `/${id}`, "DELETE")).status).toBe(200);
    expect((await as(alice, `/${id}`)).status).toBe(404);
  });

  it("the open-session limit is per user: one user at the limit does not lock others out", async () => {
    const alice = (await signIn(ALICE)).access_token;
    const bob = (await signIn(BOB)).access_token;
    const open = (token: string) =>
      fetch(`${server.url}/sessions`, {
        method: "POST",
        headers: json(token),
        body: JSON.stringify({ runtimeType: "Python" }),
      });
    const results = await Promise.all([open(alice), open(alice), open(alice), open(alice)]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 201, 429, 429]);
    expect(((await results.find((r) => r.status === 429)!.json()) as { message: string }).message).toMatch(
      /limit per user/,
    );
    expect((await open(bob)).status).toBe(201);
    for (const token of [alice, bob]) {
      for (const { id } of (await (await fetch(`${server.url}/sessions`, { headers: json(token) })).json()) as {
        id: string;
      }[]) {
        await fetch(`${server.url}/sessions/${id}/force`, { method: "DELETE", headers: json(token) });
      }
    }
  });

  it("a 404 for a service does not echo the name and version from the path", async () => {
    const { access_token } = await signIn(ADMIN);
    for (const path of [
      "/services/%3Cscript%3Esecret/v9",
      "/api/%3Cscript%3Esecret/v9",
      "/api/%3Cscript%3Esecret/v9/batch",
      "/api/%3Cscript%3Esecret/v9/swagger.json",
    ]) {
      const response = await fetch(`${server.url}${path}`, {
        method: path.endsWith("batch") ? "GET" : path.startsWith("/api/") && !path.endsWith(".json") ? "POST" : "GET",
        headers: json(access_token),
        body: path.startsWith("/api/") && !path.endsWith(".json") && !path.endsWith("batch") ? "{}" : undefined,
      });
      expect(response.status, path).toBe(404);
      const text = await response.text();
      expect(text, path).not.toMatch(/secret|script|v9/);
    }
  });
});

describe("workspace objects made with dill", () => {
  const dilled = async (python: string) => {
    const { stdout } = await run(python, [
      "-c",
      "import base64, dill, sys; sys.stdout.write(base64.b64encode(dill.dumps(lambda v: v * 3)).decode())",
    ]);
    return Buffer.from(stdout, "base64");
  };

  it("load in sessions and snapshots when dill is installed", async () => {
    const { access_token } = await signIn(ADMIN);
    const session = (await (
      await fetch(`${server.url}/sessions`, {
        method: "POST",
        headers: json(access_token),
        body: JSON.stringify({ runtimeType: "Python" }),
      })
    ).json()) as { sessionId: string };
    const base = `${server.url}/sessions/${session.sessionId}`;
    const put = await fetch(`${base}/workspace/triple`, {
      method: "POST",
      headers: { authorization: `Bearer ${access_token}`, "content-type": "application/octet-stream" },
      body: await dilled(TEST_PYTHON),
    });
    expect(put.status, await put.clone().text()).toBe(200);
    const used = await fetch(`${base}/execute`, {
      method: "POST",
      headers: json(access_token),
      body: JSON.stringify({ code: "y = triple(4)", outputParameters: ["y"] }),
    });
    expect(await used.json()).toMatchObject({ success: true, outputParameters: [{ name: "y", value: 12 }] });
    // The lambda survives a snapshot (dill, not pickle, writes it) and a download.
    const { snapshotId } = (await (
      await fetch(`${base}/snapshot`, { method: "POST", headers: json(access_token), body: "{}" })
    ).json()) as { snapshotId: string };
    const reopened = (await (
      await fetch(`${server.url}/sessions`, {
        method: "POST",
        headers: json(access_token),
        body: JSON.stringify({ runtimeType: "Python", snapshotId }),
      })
    ).json()) as {
      sessionId: string;
    };
    const again = await fetch(`${server.url}/sessions/${reopened.sessionId}/execute`, {
      method: "POST",
      headers: json(access_token),
      body: JSON.stringify({ code: "y = triple(5)", outputParameters: ["y"] }),
    });
    expect(await again.json()).toMatchObject({ success: true, outputParameters: [{ name: "y", value: 15 }] });
    const downloaded = Buffer.from(
      await (
        await fetch(`${server.url}/sessions/${reopened.sessionId}/workspace/triple`, { headers: json(access_token) })
      ).arrayBuffer(),
    );
    // What Microsoft's SDK does with a downloaded object: dill.loads.
    const { stdout } = await run(TEST_PYTHON, [
      "-c",
      "import base64, dill, sys; print(dill.loads(base64.b64decode(sys.argv[1]))(7))",
      downloaded.toString("base64"),
    ]);
    expect(stdout.trim()).toBe("21");
    for (const id of [session.sessionId, reopened.sessionId])
      await fetch(`${server.url}/sessions/${id}/force`, { method: "DELETE", headers: json(access_token) });
  });

  it("a clear 400 naming dill (and pandas for data frames) on a Python without them", async (context) => {
    const candidates = ["python3", "/root/.pyenv/shims/python3", "/usr/local/bin/python3"];
    let bare: string | undefined;
    for (const candidate of candidates) {
      const found = await resolvePython(candidate);
      if (found.ok && !found.packages.dill && !found.packages.pandas) {
        bare = candidate;
        break;
      }
    }
    if (!bare) return context.skip("no Python without dill and pandas on this machine");
    const plain = await startDevServer({ python: bare });
    try {
      const { access_token } = await signIn(ADMIN, plain);
      const session = (await (
        await fetch(`${plain.url}/sessions`, {
          method: "POST",
          headers: json(access_token),
          body: JSON.stringify({ runtimeType: "Python" }),
        })
      ).json()) as { sessionId: string };
      const put = await fetch(`${plain.url}/sessions/${session.sessionId}/workspace/triple`, {
        method: "POST",
        headers: { authorization: `Bearer ${access_token}`, "content-type": "application/octet-stream" },
        body: await dilled(TEST_PYTHON),
      });
      expect(put.status).toBe(400);
      expect(((await put.json()) as { message: string }).message).toMatch(
        /serialised with dill, which the dev server's Python does not have: install dill/,
      );
      const frame = await fetch(`${plain.url}/services/frames/1`, {
        method: "POST",
        headers: json(access_token),
        body: JSON.stringify({
          code: "y = x",
          runtimeType: "Python",
          inputParameterDefinitions: [{ name: "x", type: "data.frame" }],
        }),
      });
      expect(frame.status).toBe(400);
      expect(((await frame.json()) as { message: string }).message).toMatch(
        /lacks pandas.*, needed for data\.frame inputs and outputs \(pandas DataFrames\)/,
      );
      await fetch(`${plain.url}/sessions/${session.sessionId}/force`, {
        method: "DELETE",
        headers: json(access_token),
      });
    } finally {
      await plain.close();
    }
  });
});
