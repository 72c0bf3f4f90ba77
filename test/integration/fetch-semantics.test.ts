/**
 * What a middleware may do with `Request`, `Response` and `Headers` under the Fetch standard works
 * on the default transport exactly as with global `fetch`: one table of idioms, each run both ways
 * against the same loopback server, compared at the server (method, headers, body bytes) and at
 * the caller, and again through a 401 resend (a token the server refuses once) and a retry (a 503
 * once).
 */
import { createHash } from "node:crypto";
import type { Middleware } from "openapi-fetch";
import { describe, expect, it } from "vitest";
import { createMlServerClient, fromTokenCredential, type AuthProvider } from "../../src/index.js";
import { hostileServers, type Received } from "../support/hostile.js";

const hostile = hostileServers();
const WORKSPACE = "/sessions/{id}/workspace/{objectName}" as const;

/** A middleware idiom: what it does to the request, or the response. */
interface Idiom {
  name: string;
  middleware: Middleware;
}

const stream = (text: string) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(text));
      controller.close();
    },
  });
const form = () => {
  const data = new FormData();
  data.set("field", "value");
  data.set("file", new Blob(["file bytes"], { type: "text/csv" }), "data.csv");
  return data;
};

const idioms: Idiom[] = [
  {
    name: "new Request(request, { headers }) adding a header",
    middleware: {
      onRequest: ({ request }) =>
        new Request(request, { headers: { ...Object.fromEntries(request.headers), "x-extra": "1" } }),
    },
  },
  {
    name: "new Request(request, { method, body: string })",
    middleware: { onRequest: ({ request }) => new Request(request, { method: "PUT", body: "abc" }) },
  },
  {
    name: "new Request(request, { body: bytes })",
    middleware: { onRequest: ({ request }) => new Request(request, { body: new Uint8Array([1, 2, 3, 250]) }) },
  },
  {
    name: "new Request(request, { body: Blob })",
    middleware: {
      onRequest: ({ request }) => new Request(request, { body: new Blob(["blob body"], { type: "text/x-blob" }) }),
    },
  },
  {
    name: "new Request(request, { body: FormData })",
    middleware: { onRequest: ({ request }) => new Request(request, { body: form() }) },
  },
  {
    name: "new Request(request, { body: stream, duplex })",
    middleware: {
      onRequest: ({ request }) => new Request(request, { body: stream("streamed"), duplex: "half" } as RequestInit),
    },
  },
  { name: "new Request(request) as it is", middleware: { onRequest: ({ request }) => new Request(request) } },
  {
    name: "request.clone() read, the original sent",
    middleware: {
      async onRequest({ request }) {
        request.headers.set("x-clone", await request.clone().text());
        return undefined;
      },
    },
  },
  {
    name: "the body read, a new Request from its parts",
    middleware: {
      async onRequest({ request }) {
        const text = await request.text();
        return new Request(request.url, { method: request.method, headers: request.headers, body: `${text}!` });
      },
    },
  },
  {
    name: "a new Response from the response's body",
    middleware: {
      onResponse: ({ response }) => {
        const headers = new Headers(response.headers);
        headers.set("x-rewrapped", "1");
        return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
      },
    },
  },
  {
    name: "new Response(response.body, response)",
    middleware: { onResponse: ({ response }) => new Response(response.body, response) },
  },
  {
    name: "response.clone() read, the original returned",
    middleware: { onResponse: async ({ response }) => void (await response.clone().text()) },
  },
  {
    name: "a Response from onRequest",
    middleware: { onRequest: () => Response.json({ short: true }) },
  },
];

/** What the server saw of the request it answered, comparable across transports. */
const seen = (r: Received) => ({
  method: r.method,
  url: r.url,
  extra: r.headers["x-extra"],
  clone: r.headers["x-clone"],
  type:
    typeof r.headers["content-type"] === "string"
      ? r.headers["content-type"].replace(/boundary=\S+/, "boundary=*")
      : undefined,
  // A form's boundary differs per request: compare the body with it taken out.
  body: createHash("sha256")
    .update(r.body.replace(/-{2,}[-\w]*?\d{6,}[-\w]*|formdata-undici-\d+/g, "BOUNDARY"))
    .digest("hex")
    .slice(0, 16),
  length: r.body.length,
});

type Trouble = "none" | "401 once" | "503 once";

async function outcome(idiom: Idiom, transport: "global fetch" | "default", trouble: Trouble) {
  let troubled = false;
  const server = await hostile((req, res) => {
    if (!troubled && trouble !== "none") {
      troubled = true;
      if (trouble === "401 once") return void res.writeHead(401, { "www-authenticate": "Bearer" }).end();
      return void res.writeHead(503, { "retry-after": "0" }).end();
    }
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ ok: true, auth: req.headers.authorization }));
  });
  let issued = 0;
  const auth = fromTokenCredential(
    { getToken: async () => ({ token: `token-${++issued}`, expiresOnTimestamp: Date.now() + 3_600_000 }) },
    "api://test/.default",
  );
  const client = createMlServerClient({
    baseUrl: server.url,
    auth,
    retry: { baseDelayMs: 1, operations: { [`POST ${WORKSPACE}`]: true } },
    ...(transport === "global fetch" && { fetch: globalThis.fetch }),
  });
  client.use(idiom.middleware);
  try {
    const { data, error, response } = await client.POST(WORKSPACE, {
      params: { path: { id: "s", objectName: "o" } },
      body: { a: 1 } as never,
    });
    return {
      data,
      error,
      status: response.status,
      rewrapped: response.headers.get("x-rewrapped"),
      server: server.received.map(seen),
    };
  } catch (error) {
    return { threw: `${(error as Error).name}: ${(error as Error).message}` };
  }
}

describe("Fetch semantics in middleware: the default transport as global fetch", () => {
  for (const trouble of ["none", "401 once", "503 once"] as const) {
    describe(`with ${trouble === "none" ? "no trouble" : `the server answering ${trouble}`}`, () => {
      it.each(idioms.map((i) => [i.name, i] as const))("%s", async (_name, idiom) => {
        const expected = await outcome(idiom, "global fetch", trouble);
        const actual = await outcome(idiom, "default", trouble);
        expect(actual).toEqual(expected);
        // The reference itself must have worked, or the comparison says nothing.
        expect(expected).not.toHaveProperty("threw");
        expect(expected).toHaveProperty("status", 200);
      });
    });
  }
});

describe("Fetch semantics in an AuthProvider of the application's", () => {
  it(
    "a provider may rebuild the request with new Request(request, init), body and all, through a 401 " + "resend",
    async () => {
      const results = [];
      for (const transport of ["global fetch", "default"] as const) {
        let refused = false;
        const server = await hostile((req, res) => {
          if (!refused) {
            refused = true;
            return void res.writeHead(401).end();
          }
          res
            .writeHead(200, { "content-type": "application/json" })
            .end(JSON.stringify({ key: req.headers["x-key"], body: req.body }));
        });
        let issued = 0;
        const provider: AuthProvider = {
          authorize: (request) =>
            new Request(request, { headers: { ...Object.fromEntries(request.headers), "x-key": `key-${++issued}` } }),
          onUnauthorized: () => true,
        };
        const client = createMlServerClient({
          baseUrl: server.url,
          auth: provider,
          ...(transport === "global fetch" && { fetch: globalThis.fetch }),
        });
        const { data, response } = await client.POST(WORKSPACE, {
          params: { path: { id: "s", objectName: "o" } },
          body: { a: 1 } as never,
        });
        results.push({ data, status: response.status, seen: server.received.map(seen) });
      }
      expect(results[1]).toEqual(results[0]);
      expect(results[0]).toMatchObject({ status: 200, data: { key: "key-2", body: '{"a":1}' } });
    },
  );
});
