/**
 * Attacks on the library's promises about credentials, each by a server on loopback that tries to
 * break one: redirects elsewhere, URL rewrites after the auth middleware, names that only look like
 * loopback, error bodies and causes that quote secrets, stalls, floods and revoke loops. Secrets
 * here are short on purpose, so that only the library's knowledge of them (not a length heuristic)
 * keeps them out of what it prints.
 */
import type { ServerResponse } from "node:http";
import createClient from "openapi-fetch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { paths } from "../../generated/mlserver.js";
import {
  aadClientCredentials,
  apiKey,
  authMiddleware,
  bearer,
  clientCredentials,
  createMlServerClient,
  customHeader,
  httpBasic,
  mlServerLogin,
  MlServerClientError,
  setDebugLog,
  type AuthProvider,
  type MlServerClientOptions,
} from "../../src/index.js";
import { isLoopback } from "../../src/building-blocks.js";
import { CredentialBoundary } from "../../src/http/boundary.js";
import { selfSignedCertificate } from "../support/authority.js";
import { settledHeap } from "../support/heap.js";
import {
  findSecrets,
  hostileServers,
  renderings,
  startHostile,
  type HostileServer,
  type Received,
} from "../support/hostile.js";

const PASSWORD = "Pw-7q!Lx";
const ACCESS = "at-Q9w2-e8";
const REFRESH = "rt-Zk4-m1x";
const tls = selfSignedCertificate();
const debugLines: string[] = [];
const previousSink = setDebugLog((line) => debugLines.push(line));
afterAll(() => void setDebugLog(previousSink));

const hostile = hostileServers();

/** An attacker: answers everything 200 with a plausible token response, so a leak would "work". */
const attacker = () =>
  hostile((_req, res) => {
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ access_token: "stolen-at", refresh_token: "stolen-rt", expires_in: 3600 }));
  });

const json = (res: ServerResponse, status: number, body: unknown): void =>
  void res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
const tokens = (suffix = "") => ({
  access_token: ACCESS + suffix,
  refresh_token: REFRESH + suffix,
  token_type: "Bearer",
  expires_in: 3600,
});
const path = (r: Received) => r.url.split("?")[0]!;

async function caught(fn: () => Promise<unknown>): Promise<MlServerClientError> {
  try {
    await fn();
  } catch (error) {
    expect(error).toBeInstanceOf(MlServerClientError);
    return error as MlServerClientError;
  }
  throw new Error("expected a failure");
}

/** Asserts that no secret appears, in any encoding, in the error's renderings or the debug log. */
function expectClean(error: unknown, secrets: readonly string[]): void {
  expect(findSecrets([...renderings(error), ...debugLines], secrets)).toEqual([]);
}

describe("redirects of API calls", () => {
  const strategies: { name: string; make: () => AuthProvider; secrets: string[]; header?: string }[] = [
    {
      name: "customHeader",
      make: () => customHeader({ name: "X-TokenAuth", value: "ch-Secret-41" }),
      secrets: ["ch-Secret-41"],
      header: "x-tokenauth",
    },
    {
      name: "apiKey in a header",
      make: () => apiKey({ in: "header", name: "X-Api-Key", value: async () => "ak-Secret-42" }),
      secrets: ["ak-Secret-42"],
      header: "x-api-key",
    },
    {
      name: "apiKey in the query",
      make: () => apiKey({ in: "query", name: "api_key", value: "aq-Secret-43" }),
      secrets: ["aq-Secret-43"],
    },
    { name: "bearer", make: () => bearer("br-Secret-44"), secrets: ["br-Secret-44"], header: "authorization" },
    {
      name: "httpBasic",
      make: () => httpBasic({ username: "svc", password: "hb-Secret-45" }),
      secrets: ["hb-Secret-45", Buffer.from("svc:hb-Secret-45").toString("base64")],
      header: "authorization",
    },
    {
      name: "mlServerLogin",
      make: () => mlServerLogin({ username: "alice", password: PASSWORD }),
      secrets: [PASSWORD, ACCESS, REFRESH],
      header: "authorization",
    },
  ];

  for (const transport of ["plain fetch", "ca transport"] as const) {
    for (const strategy of strategies) {
      for (const status of [301, 302, 303, 307, 308]) {
        it(`${strategy.name}, ${status} to another origin (${transport}): the hop carries no credential`, async () => {
          const evil = await attacker();
          const front = await hostile(
            (req, res) => {
              if (path(req) === "/login") return json(res, 200, tokens());
              // A compromised or misconfigured node sends callers elsewhere, query and all.
              const query = req.url.includes("?") ? req.url.slice(req.url.indexOf("?")) : "";
              res.writeHead(status, { location: `${evil.url}/steal${query}` }).end();
            },
            transport === "ca transport" ? tls : undefined,
          );
          const options: MlServerClientOptions = {
            baseUrl: front.url,
            auth: strategy.make(),
            ...(transport === "ca transport" && { ca: tls.cert }),
          };
          const client = createMlServerClient(options);
          const { response } = await client.POST("/services/{name}/{version}", {
            params: { path: { name: "s", version: "1" } },
            body: { code: "x = 1", runtimeType: "Python" },
          });
          // The hop happened (the client follows redirects), but carried nothing secret.
          expect(response.status).toBe(200);
          expect(evil.received).toHaveLength(1);
          expect(evil.received[0]!.method).toBe(status === 303 || status <= 302 ? "GET" : "POST");
          if (strategy.header) expect(evil.received[0]!.headers[strategy.header]).toBeUndefined();
          expect(findSecrets([evil.text()], strategy.secrets)).toEqual([]);
          // The allowed origin did get the credential: the stripping is for the hop alone.
          expect(findSecrets([front.text()], strategy.secrets).length).toBeGreaterThan(0);
        });
      }
    }
  }

  it("a same-origin 307/308 keeps the method, the body and the credential", async () => {
    for (const status of [307, 308]) {
      const front = await hostile((req, res) => {
        if (path(req) === "/services/s/1") return void res.writeHead(status, { location: "/v2/services/s/1" }).end();
        json(res, 200, { got: req.body, auth: req.headers["x-tokenauth"] ?? null, method: req.method });
      });
      const client = createMlServerClient({
        baseUrl: front.url,
        auth: customHeader({ name: "X-TokenAuth", value: "same-origin-ok" }),
      });
      const { data } = await client.POST("/services/{name}/{version}", {
        params: { path: { name: "s", version: "1" } },
        body: { code: "x = 2", runtimeType: "Python" },
        parseAs: "json",
      });
      expect(data).toEqual({
        got: JSON.stringify({ code: "x = 2", runtimeType: "Python" }),
        auth: "same-origin-ok",
        method: "POST",
      });
    }
  });

  it("a redirect from HTTPS to plain HTTP of an allowed name drops credentials (the boundary's rule)", () => {
    const boundary = new CredentialBoundary(["https://ml.example.com", "http://ml.example.com"], false);
    expect(boundary.mayReceive(new URL("https://ml.example.com/x"))).toBe(true);
    // Listed, but plain HTTP to a host that is not loopback: never without the explicit opt-in.
    expect(boundary.mayReceive(new URL("http://ml.example.com/x"))).toBe(false);
    expect(new CredentialBoundary(["http://ml.example.com"], true).mayReceive(new URL("http://ml.example.com/x"))).toBe(
      true,
    );
  });

  it(
    "with the application's own fetch (one that drops init), redirects are still followed by the client's " + "rules",
    async () => {
      const evil = await attacker();
      const front = await hostile((_req, res) => void res.writeHead(307, { location: `${evil.url}/steal` }).end());
      const ownFetch = (request: Request) => fetch(request); // drops any init it is given
      const client = createMlServerClient({
        baseUrl: front.url,
        fetch: ownFetch as typeof fetch,
        auth: customHeader({ name: "X-TokenAuth", value: "own-Secret-15" }),
      });
      expect((await client.GET("/status")).response.status).toBe(200);
      expect(evil.received).toHaveLength(1);
      expect(evil.received[0]!.headers["x-tokenauth"]).toBeUndefined();
      expect(findSecrets([evil.text()], ["own-Secret-15"])).toEqual([]);
    },
  );

  it("a redirect loop ends with a typed error", async () => {
    const front = await hostile((req, res) => void res.writeHead(302, { location: req.url }).end());
    const error = await caught(() =>
      createMlServerClient({ baseUrl: front.url, auth: bearer("loop-token") }).GET("/status"),
    );
    expect(error.code).toBe("ERR_REDIRECT_REFUSED");
    expect(front.received.length).toBe(21);
  });
});

describe("redirects of token and revoke calls: never followed to another origin", () => {
  for (const status of [301, 302, 303, 307, 308]) {
    it(
      `POST /login answered ${status} to another origin: the password goes nowhere, and a typed error names ` +
        `the target origin`,
      async () => {
        const evil = await attacker();
        const front = await hostile(
          (_req, res) => void res.writeHead(status, { location: `${evil.url}/login?tenant=secret-query` }).end(),
        );
        const client = createMlServerClient({
          baseUrl: front.url,
          auth: mlServerLogin({ username: "alice", password: PASSWORD }),
        });
        const error = await caught(() => client.GET("/status"));
        expect(error.code).toBe("ERR_REDIRECT_REFUSED");
        expect(error.message).toContain(`HTTP ${status}`);
        expect(error.message).toContain(evil.origin);
        expect(error.message).not.toContain("secret-query");
        expect(evil.received).toEqual([]);
        expectClean(error, [PASSWORD]);
      },
    );
  }

  it(
    "POST /login/refreshToken answered 307 elsewhere: the refresh token goes nowhere, and no token from there " +
      "is used",
    async () => {
      const evil = await attacker();
      const front = await hostile((req, res) => {
        if (path(req) === "/login/refreshToken")
          return void res.writeHead(307, { location: `${evil.url}/login/refreshToken` }).end();
        json(res, 200, {});
      });
      const auth = mlServerLogin({
        tokens: { accessToken: ACCESS, refreshToken: REFRESH, tokenType: "Bearer", expiresAt: Date.now() - 1000 },
      });
      const error = await caught(() => createMlServerClient({ baseUrl: front.url, auth }).GET("/status"));
      expect(error.code).toBe("ERR_REDIRECT_REFUSED");
      expect(evil.received).toEqual([]);
      expect(front.received.map(path)).toEqual(["/login/refreshToken"]);
      expectClean(error, [ACCESS, REFRESH]);
    },
  );

  it("a same-origin 307 of POST /login is followed, with the body intact", async () => {
    const front = await hostile((req, res) => {
      if (path(req) === "/login") return void res.writeHead(307, { location: "/v2/login" }).end();
      if (path(req) === "/v2/login") return json(res, JSON.parse(req.body).password === PASSWORD ? 200 : 401, tokens());
      json(res, req.headers.authorization === `Bearer ${ACCESS}` ? 200 : 401, {});
    });
    const { response } = await createMlServerClient({
      baseUrl: front.url,
      auth: mlServerLogin({ username: "alice", password: PASSWORD }),
    }).GET("/status");
    expect(response.status).toBe(200);
    expect(front.received.map(path)).toEqual(["/login", "/v2/login", "/status"]);
  });

  it("signOut does not resolve when the revoke is redirected elsewhere and answered 200 there", async () => {
    const evil = await attacker();
    const front = await hostile((req, res) => {
      if (path(req) === "/login") return json(res, 200, tokens());
      if (path(req) === "/login/refreshToken" && req.method === "DELETE")
        return void res.writeHead(307, { location: `${evil.url}/revoke` }).end();
      json(res, 200, {});
    });
    const auth = mlServerLogin({ username: "alice", password: PASSWORD });
    await createMlServerClient({ baseUrl: front.url, auth }).GET("/status");
    const error = await caught(() => auth.signOut());
    expect(error.code).toBe("ERR_TOKEN_ENDPOINT_UNAVAILABLE");
    expect(error.message).toMatch(/could not be revoked/);
    expect(evil.received).toEqual([]);
    expectClean(error, [PASSWORD, ACCESS, REFRESH]);
  });

  it("clientCredentials (simple-oauth2) answered 307 elsewhere: the client secret goes nowhere", async () => {
    const evil = await attacker();
    const idp = await hostile((_req, res) => void res.writeHead(307, { location: `${evil.url}/token` }).end());
    const auth = clientCredentials({
      tokenUrl: `${idp.url}/token`,
      clientId: "daemon",
      clientSecret: "cs-Secret-7",
      maxAttempts: 1,
    });
    const api = await hostile((_req, res) => json(res, 200, {}));
    const error = await caught(() => createMlServerClient({ baseUrl: api.url, auth }).GET("/status"));
    expect(error.code).toBe("ERR_REDIRECT_REFUSED");
    expect(error.message).toContain(evil.origin);
    expect(evil.received).toEqual([]);
    expect(api.received).toEqual([]);
    expectClean(error, ["cs-Secret-7"]);
  });

  describe("msal-node's token request, against an authority on loopback", () => {
    let behaviour: (req: Received, res: ServerResponse) => void;
    let authority: HostileServer;
    beforeAll(async () => {
      authority = await startHostile((req, res) => {
        if (path(req).endsWith("/.well-known/openid-configuration")) {
          return json(res, 200, {
            issuer: authority.url,
            authorization_endpoint: `${authority.url}/authorize`,
            token_endpoint: `${authority.url}/token`,
            jwks_uri: `${authority.url}/jwks`,
            end_session_endpoint: `${authority.url}/logout`,
            device_authorization_endpoint: `${authority.url}/devicecode`,
          });
        }
        behaviour(req, res);
      }, tls);
    });
    afterAll(() => authority?.close());
    const msal = (secret: string) =>
      aadClientCredentials({
        authority: authority.url,
        clientId: "daemon",
        clientSecret: secret,
        scopes: ["api://ml/.default"],
        ca: tls.cert,
        maxAttempts: 1,
      });

    it("answered 307 to another origin: the client secret goes nowhere", async () => {
      const evil = await attacker();
      behaviour = (_req, res) => void res.writeHead(307, { location: `${evil.url}/token` }).end();
      const api = await hostile((_req, res) => json(res, 200, {}));
      const error = await caught(() =>
        createMlServerClient({ baseUrl: api.url, auth: msal("ms-Secret-8") }).GET("/status"),
      );
      expect(error.code).toBe("ERR_REDIRECT_REFUSED");
      expect(evil.received).toEqual([]);
      expectClean(error, ["ms-Secret-8"]);
    });

    it(
      "an error_description that quotes the client secret: a typed error, the cause kept by class and code, " +
        "the secret in none of it",
      async () => {
        behaviour = (req, res) => {
          const secret = new URLSearchParams(req.body).get("client_secret") ?? "";
          json(res, 401, {
            error: "invalid_client",
            error_description: `AADSTS7000215: Invalid client secret provided: ${secret}`,
            error_codes: [7000215],
          });
        };
        const api = await hostile((_req, res) => json(res, 200, {}));
        const error = await caught(() =>
          createMlServerClient({ baseUrl: api.url, auth: msal("ms-Secret-9") }).GET("/status"),
        );
        expect(error.code).toBe("ERR_AUTHENTICATION_FAILED");
        expect(error.message).toMatch(/invalid_client/);
        expect(error.cause).toBeInstanceOf(Error);
        expect((error.cause as Error).name).toBe("ServerError");
        expectClean(error, ["ms-Secret-9"]);
      },
    );

    it("a bare token as text/plain: a typed error that does not quote it", async () => {
      behaviour = (_req, res) => void res.writeHead(200, { "content-type": "text/plain" }).end("bare-Tok-55");
      const api = await hostile((_req, res) => json(res, 200, {}));
      const error = await caught(() =>
        createMlServerClient({ baseUrl: api.url, auth: msal("ms-Secret-10") }).GET("/status"),
      );
      expect(error.code).toBe("ERR_TOKEN_RESPONSE_INVALID");
      expectClean(error, ["bare-Tok-55", "ms-Secret-10"]);
    });
  });
});

describe("checks where the request leaves", () => {
  it("a middleware after the auth middleware that rewrites the URL cannot send the token elsewhere", async () => {
    const evil = await attacker();
    const front = await hostile((_req, res) => json(res, 200, {}));
    for (const target of [`${evil.url}/x`, `http://mlserver.localhost:${evil.port}/x`]) {
      const client = createMlServerClient({ baseUrl: front.url, auth: bearer("rw-Secret-11") });
      client.use({ onRequest: ({ request }) => new Request(target, request) });
      const error = await caught(() => client.GET("/status"));
      expect(error.code).toBe("ERR_ORIGIN_NOT_ALLOWED");
      expectClean(error, ["rw-Secret-11"]);
    }
    expect(evil.received).toEqual([]);
    expect(front.received).toEqual([]);
  });

  it(
    "authMiddleware on a bare openapi-fetch client: refused unless the client sends through the middleware's " +
      "fetch",
    async () => {
      const front = await hostile((req, res) => json(res, 200, { auth: req.headers.authorization ?? null }));
      const middleware = authMiddleware(bearer("bare-Secret-12"), { allowedOrigins: [front.url] });
      const unwired = createClient<paths>({ baseUrl: front.url });
      unwired.use(middleware);
      expect((await caught(() => unwired.GET("/status"))).code).toBe("ERR_INVALID_OPTION");
      const wired = createClient<paths>({ baseUrl: front.url, fetch: middleware.fetch });
      wired.use(middleware);
      // A per-call fetch would bypass the checks too.
      expect((await caught(() => wired.GET("/status", { fetch: globalThis.fetch } as never))).code).toBe(
        "ERR_INVALID_OPTION",
      );
      expect(front.received).toEqual([]);
      expect((await wired.GET("/status")).response.status).toBe(200);
      expect(front.received).toHaveLength(1);
    },
  );

  it("loopback means localhost, 127.0.0.0/8 and [::1]; a name under .localhost is any other host", () => {
    for (const host of ["localhost", "127.0.0.1", "127.1.2.3", "[::1]", "LOCALHOST"])
      expect(isLoopback(host)).toBe(true);
    for (const host of ["mlserver.localhost", "localhost.example.com", "128.0.0.1", "127.0.0.1.nip.io", "[::2]"])
      expect(isLoopback(host)).toBe(false);
    expect(() =>
      createMlServerClient({ baseUrl: "http://mlserver.localhost:12800", auth: bearer("lh-Secret-13") }),
    ).toThrow(expect.objectContaining({ code: "ERR_INSECURE_TRANSPORT" }));
  });
});

describe("no secret in any rendering of an error", () => {
  it("POST /login answered 200 with a bare token as text/plain", async () => {
    const front = await hostile(
      (_req, res) => void res.writeHead(200, { "content-type": "text/plain" }).end("bare-Tok-66"),
    );
    const error = await caught(() =>
      createMlServerClient({
        baseUrl: front.url,
        auth: mlServerLogin({ username: "alice", password: PASSWORD, maxAttempts: 1 }),
      }).GET("/status"),
    );
    expect(error.code).toBe("ERR_TOKEN_RESPONSE_INVALID");
    expectClean(error, ["bare-Tok-66", PASSWORD]);
  });

  it("a token endpoint that quotes the password and the token in its error body", async () => {
    const front = await hostile((req, res) =>
      json(res, 400, {
        message: `bad login ${req.body} for ${PASSWORD}`,
        error_description: encodeURIComponent(PASSWORD),
      }),
    );
    const error = await caught(() =>
      createMlServerClient({ baseUrl: front.url, auth: mlServerLogin({ username: "alice", password: PASSWORD }) }).GET(
        "/status",
      ),
    );
    expect(error.code).toBe("ERR_AUTHENTICATION_FAILED");
    expectClean(error, [PASSWORD]);
  });

  it(
    "an access token holding a line break: a typed error that does not quote it, and nothing sent " + "with it",
    async () => {
      const front = await hostile((req, res) => {
        if (path(req) === "/login") return json(res, 200, { ...tokens(), access_token: "lb-Tok\r\nX-Evil: 1" });
        json(res, 200, {});
      });
      const error = await caught(() =>
        createMlServerClient({
          baseUrl: front.url,
          auth: mlServerLogin({ username: "alice", password: PASSWORD }),
        }).GET("/status"),
      );
      expect(error.code).toBe("ERR_TOKEN_RESPONSE_INVALID");
      expectClean(error, ["lb-Tok", PASSWORD]);
      expect(front.received.map(path)).toEqual(["/login"]);
    },
  );

  it(
    "a header value with a line break (a wrapped token from a variable or a callback): ERR_INVALID_CREDENTIAL, " +
      "never quoted",
    async () => {
      const wrapped = "wr-Tok-1\nwr-Tok-2";
      const early = await caught(async () => bearer(wrapped));
      expect(early.code).toBe("ERR_INVALID_CREDENTIAL");
      expectClean(early, ["wr-Tok-1", "wr-Tok-2"]);
      const front = await hostile((_req, res) => json(res, 200, {}));
      for (const auth of [
        customHeader({ name: "X-TokenAuth", value: async () => wrapped }),
        bearer(async () => ({ token: wrapped, expiresAt: Date.now() + 60_000 })),
        apiKey({ in: "header", name: "X-Api-Key", value: async () => "\u2603 snow" }),
      ]) {
        const error = await caught(() => createMlServerClient({ baseUrl: front.url, auth }).GET("/status"));
        expect(error.code).toBe("ERR_INVALID_CREDENTIAL");
        expectClean(error, ["wr-Tok-1", "wr-Tok-2"]);
      }
      expect(front.received).toEqual([]);
    },
  );

  it("URLs with userinfo are never quoted with it, well-formed or not", async () => {
    const cases: (() => unknown)[] = [
      () => createMlServerClient({ baseUrl: "https://alice:ui-Secret-1@ml.example.com" }),
      () => createMlServerClient({ baseUrl: "https://alice:ui-Secret-2/x@ml.example.com:99999" }),
      () =>
        createMlServerClient({
          baseUrl: "https://ml.example.com",
          proxy: { url: "http://bob:ui-Secret-3@proxy:3128" },
        }),
      () =>
        createMlServerClient({
          baseUrl: "https://ml.example.com",
          proxy: { url: "http://bob:ui Secret-4@proxy:3128:x" },
        }),
      () =>
        clientCredentials({
          tokenUrl: "https://app:ui-Secret-5@idp.example.com/token",
          clientId: "a",
          clientSecret: "b-secret",
        }),
      () =>
        clientCredentials({
          tokenUrl: "https://app:ui-Secret-6@idp example/token",
          clientId: "a",
          clientSecret: "b-secret",
        }),
    ];
    for (const make of cases) {
      const error = await caught(async () => make());
      expect(error.code).toBe("ERR_INVALID_OPTION");
      expectClean(error, ["ui-Secret-1", "ui-Secret-2", "ui-Secret-3", "ui Secret-4", "ui-Secret-5", "ui-Secret-6"]);
    }
  });
});

describe("bounded, and typed", () => {
  it("a token response that stalls after its headers: a typed error within timeoutMs", async () => {
    const front = await hostile((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"access_token": "');
    });
    const error = await caught(() =>
      createMlServerClient({
        baseUrl: front.url,
        auth: mlServerLogin({ username: "alice", password: PASSWORD, timeoutMs: 300, maxAttempts: 1 }),
      }).GET("/status"),
    );
    expect(error.code).toBe("ERR_TOKEN_ENDPOINT_UNAVAILABLE");
    expect(error.message).toMatch(/did not answer within 300 ms/);
  });

  it("a 48 MB error body from a token endpoint is not read whole", async () => {
    let written = 0;
    let closed!: () => void;
    const done = new Promise<void>((resolve) => (closed = resolve));
    const front = await hostile(async (_req, res) => {
      res.writeHead(400, { "content-type": "application/json" });
      res.on("close", closed);
      const chunk = Buffer.alloc(64 * 1024, "x");
      while (written < 48 * 1024 * 1024 && !res.destroyed) {
        written += chunk.length;
        if (!res.write(chunk)) {
          await new Promise<void>((r) => {
            const done = () => (res.off("drain", done), res.off("close", done), r());
            res.on("drain", done).on("close", done);
          });
        }
      }
      res.end();
    });
    const error = await caught(() =>
      createMlServerClient({ baseUrl: front.url, auth: mlServerLogin({ username: "alice", password: PASSWORD }) }).GET(
        "/status",
      ),
    );
    expect(error.code).toBe("ERR_TOKEN_RESPONSE_INVALID");
    await done;
    // The client stopped at its 1 MiB limit; what was written beyond it sat in socket buffers.
    expect(written).toBeLessThan(16 * 1024 * 1024);
  });

  it("an expires_on decades away is refused like an implausible expires_in", async () => {
    const front = await hostile((_req, res) =>
      json(res, 200, {
        ...tokens(),
        expires_in: undefined,
        expires_on: Math.floor(Date.now() / 1000) + 50 * 365 * 24 * 3600,
      }),
    );
    const error = await caught(() =>
      createMlServerClient({ baseUrl: front.url, auth: mlServerLogin({ username: "alice", password: PASSWORD }) }).GET(
        "/status",
      ),
    );
    expect(error.code).toBe("ERR_TOKEN_RESPONSE_INVALID");
    expect(error.message).toMatch(/implausibly long/);
  });

  it("an API call that cannot reach the server: ERR_NETWORK with the original error as cause", async () => {
    const gone = await hostile(() => {});
    const port = gone.port;
    await gone.close();
    const refused = await caught(() => createMlServerClient({ baseUrl: `http://127.0.0.1:${port}` }).GET("/status"));
    expect(refused).toMatchObject({ code: "ERR_NETWORK", reason: "ECONNREFUSED" });
    expect(refused.cause).toBeInstanceOf(Error);

    const reset = await hostile((_req, res) => void res.socket?.destroy());
    const dropped = await caught(() =>
      createMlServerClient({ baseUrl: reset.url, auth: bearer("rs-Secret-14") }).GET("/status"),
    );
    expect(dropped.code).toBe("ERR_NETWORK");
    expectClean(dropped, ["rs-Secret-14"]);

    const plain = await hostile((_req, res) => json(res, 200, {}));
    const tlsError = await caught(() =>
      createMlServerClient({ baseUrl: plain.url.replace("http:", "https:"), ca: tls.cert }).GET("/status"),
    );
    expect(tlsError.code).toBe("ERR_NETWORK");
    const untrusted = await hostile((_req, res) => json(res, 200, {}), tls);
    expect((await caught(() => createMlServerClient({ baseUrl: untrusted.url }).GET("/status"))).code).toBe(
      "ERR_NETWORK",
    );
  });
});

describe("signOut always ends", () => {
  it("a revoke answered 401 every time: one renewal, then a typed error", async () => {
    let renewals = 0;
    const front = await hostile((req, res) => {
      if (path(req) === "/login") return json(res, 200, tokens());
      if (path(req) === "/login/refreshToken" && req.method === "POST") return json(res, 200, tokens(`-${++renewals}`));
      if (req.method === "DELETE") return json(res, 401, { message: "no" });
      json(res, 200, {});
    });
    const auth = mlServerLogin({ username: "alice", password: PASSWORD });
    await createMlServerClient({ baseUrl: front.url, auth }).GET("/status");
    const error = await caught(() => auth.signOut());
    expect(error.code).toBe("ERR_TOKEN_ENDPOINT_UNAVAILABLE");
    expect(renewals).toBe(1);
    expect(front.received.filter((r) => r.method === "DELETE")).toHaveLength(2);
    expectClean(error, [PASSWORD, ACCESS, REFRESH, `${ACCESS}-1`, `${REFRESH}-1`]);
  });

  it("a revoke answered 200 or 204 with an empty body is a success", async () => {
    for (const status of [200, 204]) {
      const front = await hostile((req, res) => {
        if (path(req) === "/login") return json(res, 200, tokens());
        if (req.method === "DELETE") return void res.writeHead(status).end();
        json(res, 200, {});
      });
      const auth = mlServerLogin({ username: "alice", password: PASSWORD });
      await createMlServerClient({ baseUrl: front.url, auth }).GET("/status");
      await expect(auth.signOut()).resolves.toBeUndefined();
    }
  });
});

describe("refused calls keep nothing alive", () => {
  const body = new Uint8Array(512 * 1024).fill(1);
  const heapAfter = async (run: () => Promise<void>): Promise<number> => {
    const before = await settledHeap();
    await run();
    return (await settledHeap()) - before;
  };
  const upload = (client: ReturnType<typeof createMlServerClient>) =>
    client.POST("/sessions/{id}/workspace/{objectName}", {
      params: { path: { id: "s", objectName: "o" } },
      body: new Blob([body]) as never,
      bodySerializer: (b) => b,
      headers: { "content-type": "application/octet-stream" },
    });

  it("300 refused calls with 512 KB bodies (signed out, sign-in failed, origin refused, no credentials) leave " +
    "under 16 MB behind", async () => {
    expect(typeof globalThis.gc).toBe("function");
    const front = await hostile((req, res) => json(res, path(req) === "/login" ? 401 : 200, {}));
    const signedOut = mlServerLogin({ username: "alice", password: PASSWORD });
    const clients = {
      signedOut: createMlServerClient({ baseUrl: front.url, auth: signedOut }),
      signInFailed: createMlServerClient({
        baseUrl: front.url,
        auth: mlServerLogin({ username: "alice", password: "wrong", maxAttempts: 1, retryCooldownMs: 0 }),
      }),
      originRefused: (() => {
        const c = createMlServerClient({
          baseUrl: front.url,
          auth: customHeader({ name: "X-TokenAuth", value: async () => "or-Secret" }),
        });
        c.use({ onRequest: ({ request }) => new Request("http://127.0.0.2:9/x", request) });
        return c;
      })(),
      noCredentials: createMlServerClient({ baseUrl: front.url, auth: { Other: bearer("nc-Secret") } }),
    };
    await signedOut.signOut();
    for (const client of Object.values(clients)) await upload(client).catch(() => {}); // warm up
    const growth: Record<string, number> = {};
    for (const [name, client] of Object.entries(clients)) {
      growth[name] = await heapAfter(async () => {
        for (let i = 0; i < 300; i++) {
          const error = await caught(() => upload(client));
          expect(error.code, name).toMatch(
            /^ERR_(SIGNED_OUT|AUTHENTICATION_FAILED|ORIGIN_NOT_ALLOWED|NO_CREDENTIALS)$/,
          );
        }
      });
    }
    console.log(
      `refused calls, heap growth after 300 each: ${Object.entries(growth)
        .map(([k, v]) => `${k} ${(v / 1024 / 1024).toFixed(1)} MiB`)
        .join(", ")}`,
    );
    // Kept copies would add about 150 MB (300 × 512 KB) for each kind.
    for (const [name, bytes] of Object.entries(growth)) expect(bytes, name).toBeLessThan(16 * 1024 * 1024);
  }, 180_000);
});
