/**
 * The light request path (the Node transport's own request record and Response) stays a drop-in
 * for what users do with openapi-fetch: middleware (which gets real requests) that reads, sets,
 * clones or replaces requests and responses, every `parseAs`, the 401 resend and retries with
 * every body kind, aborts, and inspection without credentials. Over real HTTP on loopback.
 */
import { createHash } from "node:crypto";
import { inspect } from "node:util";
import type { Middleware } from "openapi-fetch";
import { describe, expect, it } from "vitest";
import { bearer, createMlServerClient, type AuthProvider } from "../../src/index.js";
import { hostileServers } from "../support/hostile.js";

const hostile = hostileServers();
const sha = (text: string) => createHash("sha256").update(Buffer.from(text, "latin1")).digest("hex");
const json = (res: import("node:http").ServerResponse, status: number, body: unknown): void =>
  void res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
const WORKSPACE = "/sessions/{id}/workspace/{objectName}" as const;
const path = { params: { path: { id: "s", objectName: "o" } } };

describe("the light request path", () => {
  it(
    "middleware gets a real Request and a light Response (instanceof Response and Headers), and reads, sets " +
      "and clones",
    async () => {
      const server = await hostile((req, res) => json(res, 200, { seen: req.headers["x-added"], body: req.body }));
      const seen: string[] = [];
      const middleware: Middleware = {
        async onRequest({ request }) {
          // Middleware of the application's gets a real Request: Node's `new Request(request, init)`
          // would break on anything else (fetch-semantics.test.ts tries every such idiom).
          seen.push(
            `request ${request instanceof Request} ${Object.getPrototypeOf(request) === Request.prototype} ` +
              `${request.headers instanceof Headers} ${request.headers.get("content-type")}`,
          );
          request.headers.set("x-added", "by middleware");
          seen.push(`clone ${await request.clone().text()}`);
          return undefined;
        },
        onResponse({ response }) {
          seen.push(
            `response ${response instanceof Response} ${Object.getPrototypeOf(response) !== Response.prototype} ` +
              `${response.headers instanceof Headers} ${response.headers.get("Content-Type")} ${response.ok}`,
          );
          return undefined;
        },
      };
      const client = createMlServerClient({ baseUrl: server.url });
      client.use(middleware);
      const { data, response } = await client.POST(WORKSPACE, { ...path, body: { a: 1 } as never });
      expect(data).toEqual({ seen: "by middleware", body: '{"a":1}' });
      expect(seen).toEqual([
        "request true true true application/json",
        'clone {"a":1}',
        "response true true true application/json true",
      ]);
      expect(response).toBeInstanceOf(Response);
      expect([...response.headers.keys()]).toContain("content-type");
      expect(() => response.headers.set("x", "y")).toThrow(TypeError);
    },
  );

  it("the client's own middleware runs last: after middleware added later, per call, or refused by use", async () => {
    const server = await hostile((req, res) => json(res, 200, { authorization: req.headers.authorization }));
    const client = createMlServerClient({ baseUrl: server.url, auth: bearer("tok-abcdefghijklmnop") });
    const sent = async (init?: { middleware: Middleware[] }) => (await client.GET("/status", init)).data;
    const seen: string[] = [];
    const watching = (name: string): Middleware => ({
      onRequest({ request }) {
        seen.push(`${name} ${request.headers.get("authorization")}`);
        return undefined;
      },
    });
    const AUTHORIZED = { authorization: "Bearer tok-abcdefghijklmnop" };
    expect(await sent()).toEqual(AUTHORIZED);
    client.use(watching("added"));
    expect(await sent()).toEqual(AUTHORIZED);
    expect(await sent({ middleware: [watching("per call")] })).toEqual(AUTHORIZED);
    // openapi-fetch refuses a middleware with no hook after taking the ones before it.
    expect(() => client.use(watching("before a refusal"), {} as Middleware)).toThrow(/Middleware must be/);
    expect(await sent()).toEqual(AUTHORIZED);
    expect(seen).toEqual(["added null", "added null", "per call null", "added null", "before a refusal null"]);
  });

  it("a middleware may return a real new Request (body and all) or a new Response, in either hook", async () => {
    const server = await hostile((req, res) => json(res, 200, { header: req.headers["x-replaced"], body: req.body }));
    const client = createMlServerClient({ baseUrl: server.url });
    client.use({
      async onRequest({ request }) {
        if (request.url.endsWith("/short"))
          return new Response(JSON.stringify({ short: true }), { headers: { "content-type": "application/json" } });
        return new Request(request.url, {
          method: request.method,
          headers: { "x-replaced": "yes", "content-type": "text/plain" },
          body: `${await request.text()}!`,
          duplex: "half",
        } as RequestInit);
      },
    });
    expect(
      (await client.POST(WORKSPACE, { ...path, body: "payload" as never, bodySerializer: (b) => b })).data,
    ).toEqual({ header: "yes", body: "payload!" });
    expect(
      (
        await client.POST(WORKSPACE, {
          params: { path: { id: "s", objectName: "short" } },
          body: "x" as never,
          bodySerializer: (b) => b,
        })
      ).data,
    ).toEqual({ short: true });
    const replacing = createMlServerClient({ baseUrl: server.url });
    replacing.use({
      onResponse: () =>
        new Response(JSON.stringify({ replaced: true }), {
          status: 200,
          headers: { "content-type": "application/json" },
        }),
    });
    expect((await replacing.GET("/status")).data).toEqual({ replaced: true });
  });

  it("every parseAs, a 204, a HEAD, an error body, and a cloned response read twice", async () => {
    const server = await hostile((req, res) => {
      if (req.url.endsWith("/none")) return void res.writeHead(204).end();
      if (req.url.endsWith("/bad")) return json(res, 400, { Message: "bad input" });
      if (req.method === "HEAD") return void res.writeHead(200, { "content-length": "7" }).end();
      res.writeHead(200, { "content-type": "application/json", "set-cookie": ["a=1", "b=2"] }).end('{"n":42}');
    });
    const client = createMlServerClient({ baseUrl: server.url });
    const at = (objectName: string) => ({ params: { path: { id: "s", objectName } } });
    expect((await client.GET(WORKSPACE, at("o"))).data).toEqual({ n: 42 });
    expect((await client.GET(WORKSPACE, { ...at("o"), parseAs: "text" })).data).toBe('{"n":42}');
    const blob = (await client.GET(WORKSPACE, { ...at("o"), parseAs: "blob" })).data as Blob;
    expect([blob.type, await blob.text()]).toEqual(["application/json", '{"n":42}']);
    expect(
      new TextDecoder().decode(
        (await client.GET(WORKSPACE, { ...at("o"), parseAs: "arrayBuffer" })).data as ArrayBuffer,
      ),
    ).toBe('{"n":42}');
    const stream = (await client.GET(WORKSPACE, { ...at("o"), parseAs: "stream" })).data as ReadableStream<Uint8Array>;
    expect(await new Response(stream).text()).toBe('{"n":42}');
    const none = await client.GET(WORKSPACE, at("none"));
    expect([none.response.status, none.data, none.response.body]).toEqual([204, undefined, null]);
    // No HEAD in the spec: sent as a typed GET would be, with the method changed.
    expect((await client.request("head" as "get", WORKSPACE, at("o"))).response.status).toBe(200);
    const bad = await client.GET(WORKSPACE, at("bad"));
    expect([bad.response.status, bad.error]).toEqual([400, { Message: "bad input" }]);
    const { response } = await client.GET(WORKSPACE, { ...at("o"), parseAs: "stream" });
    expect(response.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    const copy = response.clone();
    expect([await copy.json(), await response.text(), response.bodyUsed]).toEqual([{ n: 42 }, '{"n":42}', true]);
    await expect(response.text()).rejects.toThrow(TypeError);
  });

  it("resends every body kind intact after a 401, with its Content-Type (a form's boundary included)", async () => {
    let refuse = true;
    const server = await hostile((req, res) => {
      if (refuse) {
        refuse = false;
        return json(res, 401, { Message: "expired" });
      }
      json(res, 200, { sha: sha(req.body), type: req.headers["content-type"] });
    });
    let renewals = 0;
    const auth: AuthProvider = {
      authorize: (request) => void request.headers.set("authorization", `Bearer t${renewals}`),
      onUnauthorized: () => (renewals++, true),
    };
    const client = createMlServerClient({ baseUrl: server.url, auth });
    const form = new FormData();
    form.append("file", new Blob(["a,b\n1,2\n"], { type: "text/csv" }), "data.csv");
    const bodies: [string, () => unknown][] = [
      ["string", () => "plain text"],
      ["Uint8Array", () => new Uint8Array([0, 1, 2, 250])],
      ["ArrayBuffer", () => new Uint8Array([9, 8, 7]).buffer],
      ["Blob", () => new Blob(["blob body"], { type: "application/x-thing" })],
      ["FormData", () => form],
      ["URLSearchParams", () => new URLSearchParams({ q: "a b" })],
      ["ReadableStream", () => new Response("streamed body").body],
    ];
    for (const [kind, make] of bodies) {
      refuse = true;
      server.received.length = 0;
      const { data, response } = await client.POST(WORKSPACE, {
        ...path,
        body: make() as never,
        bodySerializer: (b) => b as BodyInit,
        headers: { "content-type": null },
      });
      expect(response.status, kind).toBe(200);
      const [first, second] = server.received;
      expect([first!.headers.authorization, second!.headers.authorization], kind).toEqual([
        `Bearer t${renewals - 1}`,
        `Bearer t${renewals}`,
      ]);
      expect(second!.body, kind).toBe(first!.body);
      expect(first!.body.length, kind).toBeGreaterThan(0);
      expect(data, kind).toEqual({ sha: sha(first!.body), type: first!.headers["content-type"] });
      if (kind === "FormData")
        expect(String(first!.headers["content-type"])).toMatch(/^multipart\/form-data; boundary=/);
      if (kind === "Blob") expect(first!.headers["content-type"]).toBe("application/x-thing");
    }
    expect(renewals).toBe(bodies.length);
  });

  it("retries a PUT after a 503 and follows a 307 with its body, on the light objects", async () => {
    let failures = 1;
    const server = await hostile((req, res) => {
      if (req.url.endsWith("/moved"))
        return void res.writeHead(307, { location: `${req.url.replace("/moved", "/here")}` }).end();
      if (req.method === "PUT" && failures-- > 0) return void res.writeHead(503, { "retry-after": "0" }).end();
      json(res, 200, { body: req.body, url: req.url });
    });
    const client = createMlServerClient({ baseUrl: server.url, auth: bearer("t"), retry: { baseDelayMs: 1 } });
    const put = await client.request("put" as "post", WORKSPACE, {
      ...path,
      body: "v1" as never,
      bodySerializer: (b) => b,
    });
    expect(put.data).toEqual({ body: "v1", url: "/sessions/s/workspace/o" });
    expect(server.received.filter((r) => r.method === "PUT").map((r) => r.body)).toEqual(["v1", "v1"]);
    const moved = await client.POST(WORKSPACE, {
      params: { path: { id: "s", objectName: "moved" } },
      body: "again" as never,
      bodySerializer: (b) => b,
    });
    expect(moved.data).toEqual({ body: "again", url: "/sessions/s/workspace/here" });
  });

  it("an abort while the body arrives rejects with the signal's reason", async () => {
    const server = await hostile((_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": "100" });
      res.write('{"partial":');
    });
    const client = createMlServerClient({ baseUrl: server.url });
    const controller = new AbortController();
    const reason = new Error("caller gave up");
    setTimeout(() => controller.abort(reason), 100);
    await expect(client.GET("/status", { signal: controller.signal })).rejects.toBe(reason);
  });

  it("inspecting a request or a response shows no credential", async () => {
    const server = await hostile((_req, res) => json(res, 200, {}));
    const token = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.c2lnbmF0dXJlLXNlY3JldA";
    const printed: string[] = [];
    const client = createMlServerClient({ baseUrl: server.url, auth: bearer(token) });
    client.use({
      onResponse: ({ request, response }) =>
        void printed.push(inspect(request), inspect(response), inspect(response.headers)),
    });
    await client.GET("/status");
    expect(printed.join("\n")).toContain("/status");
    expect(printed.join("\n")).not.toContain(token);
    expect(server.received[0]!.headers.authorization).toBe(`Bearer ${token}`);
  });

  it("an application's own fetch gets real Request objects, as before", async () => {
    const server = await hostile((_req, res) => json(res, 200, { ok: true }));
    const kinds: boolean[] = [];
    const client = createMlServerClient({
      baseUrl: server.url,
      auth: bearer("t"),
      fetch: (request: Request) => (kinds.push(Object.getPrototypeOf(request) === Request.prototype), fetch(request)),
    });
    expect((await client.GET("/status")).data).toEqual({ ok: true });
    expect(kinds).toEqual([true]);
  });
});
