import { createServer, type IncomingMessage } from "node:http";
import { join } from "node:path";
import createClient from "openapi-fetch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TokenCredential } from "@azure/core-auth";
import { startDevServer, type DevServer } from "../../devserver/server.js";
import { generateFromSpec, writeFilesAtomically } from "../../src/codegen/index.js";
import {
  apiKey,
  authMiddleware,
  bearer,
  createMlServerClient,
  customHeader,
  fromTokenCredential,
  httpBasic,
  httpDigest,
  mlServerLogin,
  type OperationSecurityMap,
  type TokenCredentialLike,
} from "../../src/index.js";
import { basicCredentials } from "../../src/strategies/http-basic.js";
import { digestResponse, parseChallenges } from "../../src/strategies/digest-protocol.js";
import { APACHE, SQUID, describeWithProgram, startApacheDigest, startSquid } from "../support/daemons.js";
import type { HttpClient } from "@azure/core-rest-pipeline";
import { fetchTrusting } from "../../src/http/dispatcher.js";
import { azureAdSettings, RESOURCE, selfSignedCertificate, startTestAuthority } from "../support/authority.js";
import { SecretHygiene } from "../support/hygiene.js";
import { tempDir } from "../support/tmp.js";

const hygiene = new SecretHygiene();

/** A loopback server that records the headers and URL of each request and answers with `decide`. */
async function recorder(decide: (req: IncomingMessage) => number = () => 200) {
  const seen: { url: string; headers: IncomingMessage["headers"] }[] = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? "", headers: req.headers });
    req.resume();
    req.on("end", () => res.writeHead(decide(req), { "content-type": "application/json" }).end("{}"));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { url, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const failure = (fn: () => Promise<unknown>) => hygiene.failure(fn);

describe("httpBasic", () => {
  it("encodes UTF-8 credentials as RFC 7617 does", () => {
    // RFC 7617 section 2.1: user "test", password "123£" with charset UTF-8.
    expect(basicCredentials({ username: "test", password: "123\u00a3" })).toBe("Basic dGVzdDoxMjPCow==");
    expect(() => basicCredentials({ username: "a:b", password: "x" })).toThrow(/cannot contain a colon/);
  });
  it("sends the header, and hands a 401 back without a resend", async () => {
    const expected = basicCredentials({ username: "svc", password: "Basic-Pa55" });
    hygiene.secret("Basic-Pa55", expected.slice(6));
    const server = await recorder((req) => (req.headers.authorization === expected ? 200 : 401));
    try {
      const good = createMlServerClient({
        baseUrl: server.url,
        auth: httpBasic({ username: "svc", password: "Basic-Pa55" }),
      });
      expect((await good.GET("/status")).response.status).toBe(200);
      const bad = createMlServerClient({
        baseUrl: server.url,
        auth: httpBasic({ username: "svc", password: "wrong" }),
      });
      expect((await bad.GET("/status")).response.status).toBe(401);
      expect(server.seen).toHaveLength(2);
    } finally {
      await server.close();
    }
  });
});

describe("customHeader and apiKey", () => {
  it("a fixed header value, and a function asked again after a 401", async () => {
    const server = await recorder((req) => (req.headers["x-tokenauth"] === "current-value" ? 200 : 401));
    try {
      const fixed = createMlServerClient({
        baseUrl: server.url,
        auth: customHeader({ name: "X-TokenAuth", value: "current-value" }),
      });
      expect((await fixed.GET("/status")).response.status).toBe(200);
      const values = ["stale-value", "current-value"];
      const dynamic = createMlServerClient({
        baseUrl: server.url,
        auth: customHeader({ name: "X-TokenAuth", value: async () => values.shift()! }),
      });
      expect((await dynamic.GET("/status")).response.status).toBe(200);
      expect(server.seen.slice(1).map((s) => s.headers["x-tokenauth"])).toEqual(["stale-value", "current-value"]);
      expect(() => customHeader({ name: "Bad Header", value: "x" })).toThrow(/not a valid header name/);
      expect(() => customHeader({ name: "X-A", value: "line\nbreak" })).toThrow(/line break/);
    } finally {
      await server.close();
    }
  });

  it("an API key in a header or in the query, as OpenAPI's apiKey scheme puts it", async () => {
    hygiene.secret("key-0123456789abcdef");
    const server = await recorder();
    try {
      await createMlServerClient({
        baseUrl: server.url,
        auth: apiKey({ in: "header", name: "X-Api-Key", value: "key-0123456789abcdef" }),
      }).GET("/status");
      await createMlServerClient({
        baseUrl: server.url,
        auth: apiKey({ in: "query", name: "api_key", value: "key-0123456789abcdef" }),
      }).GET("/services/{name}", { params: { path: { name: "a b" } } });
      expect(server.seen[0]!.headers["x-api-key"]).toBe("key-0123456789abcdef");
      expect(server.seen[1]!.url).toBe("/services/a%20b?api_key=key-0123456789abcdef");
      expect(server.seen[1]!.headers["x-api-key"]).toBeUndefined();
    } finally {
      await server.close();
    }
  });
});

describeWithProgram(APACHE, "httpDigest against Apache httpd with mod_auth_digest", () => {
  const user = { username: "svc-ml", password: "Digest-Pa55word" };
  let apache: Awaited<ReturnType<typeof startApacheDigest>>;
  beforeAll(async () => {
    hygiene.secret(user.password);
    apache = await startApacheDigest(user, 1);
  });
  afterAll(() => apache?.stop());

  it("computes RFC 7616's own examples (section 3.9.1), for MD5 and SHA-256", async () => {
    const example = {
      username: "Mufasa",
      password: "Circle of Life",
      realm: "http-auth@example.org",
      method: "GET",
      uri: "/dir/index.html",
      nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
      cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
      nc: 1,
      qop: "auth" as const,
    };
    expect(await digestResponse({ ...example, algorithm: "MD5" })).toBe("8ca523f5e9506fed4657c9700eebdbec");
    expect(await digestResponse({ ...example, algorithm: "SHA-256" })).toBe(
      "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
    );
  });

  it("parses several challenges in one header, commas inside quotes included", () => {
    expect(
      parseChallenges(
        'Digest realm="a, b", nonce="n1", algorithm=SHA-256, qop="auth", Digest realm="a, b", nonce="n2", Basic ' +
          'realm="x"',
      ),
    ).toEqual([
      { scheme: "digest", params: { realm: "a, b", nonce: "n1", algorithm: "SHA-256", qop: "auth" } },
      { scheme: "digest", params: { realm: "a, b", nonce: "n2" } },
      { scheme: "basic", params: { realm: "x" } },
    ]);
  });

  it("answers the challenge, then reuses the nonce with counting, then takes a new one when it is stale", async () => {
    const statuses: number[] = [];
    const counting: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      statuses.push(response.status);
      return response;
    };
    const client = createMlServerClient({
      baseUrl: `${apache.url}/protected`,
      auth: httpDigest(user),
      fetch: hygiene.fetch(counting),
    });
    expect((await client.GET("/status")).data).toEqual({ statusCode: "pass" });
    expect(statuses).toEqual([401, 200]);
    expect((await client.GET("/status")).response.status).toBe(200);
    expect((await client.GET("/status")).response.status).toBe(200);
    expect(statuses).toEqual([401, 200, 200, 200]); // no new challenge: the nonce was reused, nc 2 and 3
    await new Promise((r) => setTimeout(r, 2100)); // past the 1-second nonce lifetime
    expect((await client.GET("/status")).response.status).toBe(200);
    expect(statuses.slice(4)).toEqual([401, 200]); // stale=true, a new nonce, one resend
  });

  it("a wrong password: the 401 comes back after exactly one answered challenge", async () => {
    hygiene.secret("Wrong-Digest-Pa55");
    // Counted on both sides, by a marker only this test's requests carry: the client's own count is
    // exact at once; Apache writes its log after answering, so its lines are awaited, never assumed.
    const probe = `probe-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const statuses: number[] = [];
    const counting: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      statuses.push(response.status);
      return response;
    };
    const client = createMlServerClient({
      baseUrl: `${apache.url}/protected`,
      auth: httpDigest({ username: user.username, password: "Wrong-Digest-Pa55" }),
      fetch: counting,
    });
    expect((await client.GET("/status", { params: { query: { probe } } } as never)).response.status).toBe(401);
    expect(statuses).toEqual([401, 401]);
    const logged = () => apache.requests().filter((line) => line.includes(probe));
    for (let i = 0; i < 100 && logged().length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(logged()).toEqual([expect.stringMatching(/ 401$/), expect.stringMatching(/ 401$/)]);
  });
});

describeWithProgram(SQUID, "through an HTTP proxy that demands Proxy-Authorization (Squid)", () => {
  const proxyUser = { username: "proxy-user", password: "Proxy-Pa55word" };
  // Loopback targets bypass the proxy, so the API is reached through it under a name only Squid
  // resolves (to 127.0.0.1), over HTTPS with a certificate for that name.
  const HOST = "mlserver.test";
  const tls = selfSignedCertificate([HOST]);
  let squid: Awaited<ReturnType<typeof startSquid>>;
  let server: DevServer;
  const proxiedUrl = () => `https://${HOST}:${server.port}`;
  beforeAll(async () => {
    hygiene.secret(proxyUser.password, basicCredentials(proxyUser).slice(6));
    [squid, server] = await Promise.all([startSquid(proxyUser, [HOST]), startDevServer({ tls, allowedHosts: [HOST] })]);
  });
  afterAll(async () => {
    await squid?.stop();
    await server?.close();
  });

  it("calls the API through the proxy; the proxy sees its own credentials and never the API's", async () => {
    const auth = mlServerLogin({ username: "admin", password: "Admin-Pa55word!" });
    const client = createMlServerClient({
      baseUrl: proxiedUrl(),
      auth,
      ca: tls.cert,
      proxy: { url: squid.url, auth: proxyUser },
      fetch: hygiene.fetch(),
    });
    expect((await client.GET("/status")).response.status).toBe(200);
    expect((await client.GET("/services")).response.status).toBe(200);
    expect(server.counters.logins).toBe(1);
    await auth.signOut();
    // Squid logs a tunnel when it closes: end the pooled keep-alive tunnels by closing the server.
    await server.close();
    await new Promise((r) => setTimeout(r, 500));
    const log = squid.log();
    expect(
      log.some((line) => line.startsWith(`CONNECT ${HOST}:${server.port}`) && line.endsWith(proxyUser.username)),
    ).toBe(true);
    // Tunnelled with CONNECT: no API path, header or token ever reached the proxy.
    expect(log.join("\n")).not.toMatch(/\/status|\/login|Bearer/);
  });

  it("refuses to start with credentials in the proxy URL, and fails clearly with wrong proxy credentials", async () => {
    server = await startDevServer({ tls, allowedHosts: [HOST] });
    expect(() => createMlServerClient({ baseUrl: server.url, proxy: { url: `http://u:p@127.0.0.1:1` } })).toThrow(
      /must not hold credentials/,
    );
    const client = createMlServerClient({
      baseUrl: proxiedUrl(),
      ca: tls.cert,
      auth: mlServerLogin({ username: "admin", password: "Admin-Pa55word!", maxAttempts: 1 }),
      proxy: { url: squid.url, auth: { username: proxyUser.username, password: "not-it" } },
    });
    const error = await failure(() => client.GET("/status"));
    expect(error.code).toBe("ERR_TOKEN_ENDPOINT_UNAVAILABLE");
    expect(error.message).toMatch(/^POST \/login at https:\/\/mlserver\.test:\d+ failed: /);
    expect(error.message).toMatch(/: the proxy refused its credentials \(HTTP 407\)\. Check proxy\.auth\.$/);
  });

  it("loopback targets bypass the proxy: a plain-HTTP loopback call never crosses it in cleartext", async () => {
    const plain = await startDevServer();
    try {
      const before = squid.log().length;
      // Wrong proxy credentials: through the proxy, this could only fail with a 407.
      const client = createMlServerClient({
        baseUrl: plain.url,
        auth: mlServerLogin({ username: "admin", password: "Admin-Pa55word!", maxAttempts: 1 }),
        proxy: { url: squid.url, auth: { username: proxyUser.username, password: "not-it" } },
      });
      expect((await client.GET("/services")).response.status).toBe(200);
      expect(plain.counters.logins).toBe(1);
      await plain.close();
      await new Promise((r) => setTimeout(r, 300));
      expect(
        squid
          .log()
          .slice(before)
          .filter((line) => line.includes(`:${plain.port}`)),
      ).toEqual([]);
    } finally {
      await plain.close();
    }
  });
});

describe("fromTokenCredential", () => {
  class TestCredential implements TokenCredential {
    calls = 0;
    constructor(
      private readonly lifetimeMs: number,
      private readonly refreshAfterMs?: number,
      private readonly now = () => Date.now(),
    ) {}
    async getToken(): Promise<{ token: string; expiresOnTimestamp: number; refreshAfterTimestamp?: number }> {
      this.calls++;
      await new Promise((r) => setTimeout(r, 5));
      const now = this.now();
      return {
        token: `credential-token-${this.calls}`,
        expiresOnTimestamp: now + this.lifetimeMs,
        ...(this.refreshAfterMs !== undefined && { refreshAfterTimestamp: now + this.refreshAfterMs }),
      };
    }
  }

  it("accepts any @azure/core-auth TokenCredential (checked by the compiler)", () => {
    const credential: TokenCredential = new TestCredential(60_000);
    const asLike: TokenCredentialLike = credential;
    expect(typeof asLike.getToken).toBe("function");
  });

  it("one getToken for concurrent calls, renewal from refreshAfterTimestamp, once more after a 401", async () => {
    let offset = 0;
    const clock = () => Date.now() + offset;
    const credential = new TestCredential(3_600_000, 600_000, clock);
    const tokens: string[] = [];
    const server = await recorder((req) => {
      tokens.push(req.headers.authorization ?? "");
      return req.headers["x-fail"] === undefined && tokens.length === 6 ? 401 : 200;
    });
    try {
      const client = createMlServerClient({
        baseUrl: server.url,
        auth: fromTokenCredential(credential, ["api://mlserver/.default"], { clock }),
      });
      await Promise.all(Array.from({ length: 5 }, () => client.GET("/status")));
      expect(credential.calls).toBe(1);
      offset = 11 * 60_000; // past refreshAfterTimestamp (10 min), long before expiry (60 min)
      await client.GET("/status"); // served with the current token; the 6th request gets a 401 and is resent
      await new Promise((r) => setTimeout(r, 50));
      expect(credential.calls).toBeGreaterThanOrEqual(2);
      expect(tokens.at(-1)).toMatch(/^Bearer credential-token-[23]$/);
    } finally {
      await server.close();
    }
  });
});

describe("fromTokenCredential with a real @azure/identity credential, offline", () => {
  it(
    "ClientSecretCredential against the test authority, its token accepted by the dev server in Azure AD " + "mode",
    async () => {
      const { ClientSecretCredential } = await import("@azure/identity");
      const { createHttpHeaders } = await import("@azure/core-rest-pipeline");
      // Entra ID's layout: the authority is host/tenant, with discovery under /v2.0.
      const authority = await startTestAuthority({ pathPrefix: "/contoso-tenant/v2.0" });
      const server = await startDevServer({ azureActiveDirectory: azureAdSettings(authority) });
      try {
        hygiene.secret(authority.clients.basic.clientSecret);
        // @azure/identity takes any HttpClient; this one trusts the test authority's certificate.
        const trusted = fetchTrusting(authority.ca);
        const httpClient: HttpClient = {
          async sendRequest(request) {
            const response = await trusted(
              new Request(request.url, {
                method: request.method,
                headers: request.headers.toJSON(),
                ...(typeof request.body === "string" && { body: request.body }),
              }),
            );
            return {
              request,
              status: response.status,
              headers: createHttpHeaders(Object.fromEntries(response.headers)),
              bodyAsText: await response.text(),
            };
          },
        };
        const credential = new ClientSecretCredential(
          "contoso-tenant",
          authority.clients.basic.clientId,
          authority.clients.basic.clientSecret,
          {
            authorityHost: new URL(authority.issuer).origin,
            disableInstanceDiscovery: true,
            httpClient,
          },
        );
        const client = createMlServerClient({
          baseUrl: server.url,
          auth: fromTokenCredential(credential, [`${RESOURCE}/.default`]),
          fetch: hygiene.fetch(),
        });
        const results = await Promise.all(Array.from({ length: 50 }, () => client.GET("/status")));
        expect(results.every((r) => r.response.status === 200)).toBe(true);
        expect(authority.tokenRequests.client_credentials).toBe(1);
        expect(server.counters.azureAdCalls).toBe(50);
      } finally {
        await server.close();
        await authority.close();
      }
    },
  );
});

describe("per-operation scheme selection from the spec's security", () => {
  let security: OperationSecurityMap;
  let server: Awaited<ReturnType<typeof recorder>>;
  const requirement: Record<string, (h: IncomingMessage["headers"]) => boolean> = {
    "/public": (h) => !h.authorization && !h["x-api-key"],
    "/bearer-only": (h) => h.authorization === "Bearer tok-123456" && !h["x-api-key"],
    "/key-only": (h) => h["x-api-key"] === "key-abcdef" && !h.authorization,
    "/bearer-or-key": (h) => (h.authorization === "Bearer tok-123456") !== (h["x-api-key"] === "key-abcdef"),
    "/key-or-bearer": (h) => (h.authorization === "Bearer tok-123456") !== (h["x-api-key"] === "key-abcdef"),
    "/bearer-and-key": (h) => h.authorization === "Bearer tok-123456" && h["x-api-key"] === "key-abcdef",
  };

  beforeAll(async () => {
    const dir = await tempDir();
    const files = await generateFromSpec("test/fixtures/mixed-security.yaml", { output: join(dir, "mixed.ts") });
    await writeFilesAtomically(files);
    security = (await import(join(dir, "mixed.security.ts"))).operationSecurity;
    // The server checks what arrived against what each operation asks for, exactly.
    server = await recorder((req) => (requirement[new URL(req.url!, "http://x").pathname]!(req.headers) ? 200 : 400));
  });
  afterAll(() => server?.close());

  const clientWith = (auth: Parameters<typeof authMiddleware>[0]) => {
    const middleware = authMiddleware(auth, { allowedOrigins: [server.url], security });
    const client = createClient<any>({ baseUrl: server.url, fetch: middleware.fetch });
    client.use(middleware);
    return client;
  };
  const both = () => ({
    Bearer: bearer("tok-123456"),
    ApiKey: apiKey({ in: "header", name: "X-Api-Key", value: "key-abcdef" }),
  });

  it("sends exactly one satisfiable alternative per operation, never two, and nothing to public ones", async () => {
    const client = clientWith(both());
    for (const path of ["/public", "/bearer-only", "/key-only", "/bearer-or-key", "/key-or-bearer"]) {
      expect([path, (await client.GET(path, {})).response.status]).toEqual([path, 200]);
    }
    expect((await client.POST("/bearer-and-key", { body: { note: "x" } })).response.status).toBe(200);
    const byPath = Object.fromEntries(
      server.seen.map((s) => [s.url, [s.headers.authorization !== undefined, s.headers["x-api-key"] !== undefined]]),
    );
    expect(byPath).toEqual({
      "/public": [false, false],
      "/bearer-only": [true, false],
      "/key-only": [false, true],
      "/bearer-or-key": [true, false], // the first alternative that can be met
      "/key-or-bearer": [false, true],
      "/bearer-and-key": [true, true],
    });
  });

  it("falls back to the next alternative when the first cannot be met", async () => {
    server.seen.length = 0;
    const client = clientWith({ ApiKey: apiKey({ in: "header", name: "X-Api-Key", value: "key-abcdef" }) });
    expect((await client.GET("/bearer-or-key", {})).response.status).toBe(200);
    expect(server.seen[0]!.headers.authorization).toBeUndefined();
  });

  it("fails before sending, with a clear error, when no alternative can be met", async () => {
    server.seen.length = 0;
    const client = clientWith({ ApiKey: apiKey({ in: "header", name: "X-Api-Key", value: "key-abcdef" }) });
    const error = await failure(() => client.POST("/bearer-and-key", { body: {} }));
    expect(error.code).toBe("ERR_NO_CREDENTIALS");
    expect(error.message).toBe(
      "POST /bearer-and-key needs Bearer and ApiKey; this client has providers for ApiKey. Add a provider for " +
        "one of them, keyed by its scheme name.",
    );
    const none = await failure(() => clientWith({ Bearer: bearer("tok-123456") }).GET("/key-only", {}));
    expect(none.message).toMatch(/^GET \/key-only needs ApiKey; this client has providers for Bearer/);
    expect(server.seen).toHaveLength(0);
  });

  it("a single provider still works as before", async () => {
    server.seen.length = 0;
    const client = clientWith(bearer("tok-123456"));
    expect((await client.GET("/bearer-only", {})).response.status).toBe(200);
    expect((await client.GET("/public", {})).response.status).toBe(200);
    expect(server.seen.map((s) => s.headers.authorization)).toEqual(["Bearer tok-123456", undefined]);
  });
});

describe("secret hygiene", () => {
  it("no password, key or token appears in any error, inspect output or debug line of this file", () => {
    expect(hygiene.secrets.size).toBeGreaterThan(3);
    expect(hygiene.leaks()).toEqual([]);
    hygiene.stop();
  });
});
