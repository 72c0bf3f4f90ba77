import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../devserver/server.js";
import { createMlServerClient, mlServerLogin, type MlServerClient } from "../../src/index.js";

describe("the dev server", () => {
  let server: DevServer;
  let alice: MlServerClient;
  let bob: MlServerClient;
  beforeAll(async () => {
    server = await startDevServer({
      users: [
        { username: "alice", password: "alice-Pa55word" },
        { username: "bob", password: "bob-Pa55word" },
      ],
    });
    alice = createMlServerClient({
      baseUrl: server.url,
      auth: mlServerLogin({ username: "alice", password: "alice-Pa55word" }),
    });
    bob = createMlServerClient({
      baseUrl: server.url,
      auth: mlServerLogin({ username: "bob", password: "bob-Pa55word" }),
    });
  });
  afterAll(() => server.close());

  const path = (name: string, version: string) => ({ params: { path: { name, version } } });

  it("publishes, refuses a duplicate name and version with 409, and another user's name with 403", async () => {
    expect(
      (
        await alice.POST("/services/{name}/{version}", {
          ...path("score", "1"),
          body: { code: "y = 1", runtimeType: "Python" },
        })
      ).response.status,
    ).toBe(201);
    const duplicate = await alice.POST("/services/{name}/{version}", {
      ...path("score", "1"),
      body: { code: "y = 2", runtimeType: "Python" },
    });
    expect(duplicate.response.status).toBe(409);
    expect(duplicate.error).toMatchObject({ message: expect.stringMatching(/already exists; use PATCH/) });
    expect(
      (
        await alice.POST("/services/{name}/{version}", {
          ...path("score", "2"),
          body: { code: "y = 2", runtimeType: "Python" },
        })
      ).response.status,
    ).toBe(201);
    const taken = await bob.POST("/services/{name}/{version}", {
      ...path("score", "3"),
      body: { code: "y = 3", runtimeType: "Python" },
    });
    expect(taken.response.status).toBe(403);
    const unversioned = await alice.POST("/services/{name}", {
      params: { path: { name: "auto" } },
      body: { code: "y = 0", runtimeType: "Python" },
    });
    expect(unversioned.response.status).toBe(201);
    expect(unversioned.data).toMatch(/\/api\/auto\/[0-9a-f-]{36}$/);
  });

  it(
    "lets only the owner patch or delete, answers 404 for what does not exist, and shows permissions per " + "caller",
    async () => {
      expect(
        (await bob.PATCH("/services/{name}/{version}", { ...path("score", "1"), body: { description: "mine now" } }))
          .response.status,
      ).toBe(403);
      expect((await bob.DELETE("/services/{name}/{version}", path("score", "1"))).response.status).toBe(403);
      expect(
        (await alice.PATCH("/services/{name}/{version}", { ...path("score", "1"), body: { description: "v1" } }))
          .response.status,
      ).toBe(200);
      const asBob = await bob.GET("/services/{name}/{version}", path("score", "1"));
      expect(asBob.data).toEqual([
        expect.objectContaining({ description: "v1", versionPublishedBy: "alice", myPermissionOnService: "read only" }),
      ]);
      const asAlice = await alice.GET("/services/{name}", { params: { path: { name: "score" } } });
      expect(asAlice.data?.map((s) => [s.version, s.myPermissionOnService])).toEqual([
        ["1", "read/write"],
        ["2", "read/write"],
      ]);
      expect((await alice.DELETE("/services/{name}/{version}", path("score", "2"))).response.status).toBe(200);
      expect((await alice.GET("/services/{name}/{version}", path("score", "2"))).response.status).toBe(404);
      expect(
        (await alice.PATCH("/services/{name}/{version}", { ...path("nope", "1"), body: {} })).response.status,
      ).toBe(404);
    },
  );

  it("validates every request against the API description and answers 400 with the violations", async () => {
    const before = server.counters.validationFailures;
    const bad = await alice.POST("/services/{name}/{version}", {
      ...path("x", "1"),
      body: { runtimeType: "Julia", inputParameterDefinitions: [{ name: "a", type: "tensor" }] } as never,
    });
    expect(bad.response.status).toBe(400);
    expect(bad.error).toMatchObject({
      exceptionType: "RequestValidationException",
      message: expect.stringContaining("body must have required property 'code'"),
    });
    expect((bad.error as { message: string }).message).toMatch(
      /body\.runtimeType must be equal to one of the allowed values/,
    );
    expect((bad.error as { message: string }).message).toMatch(
      /body\.inputParameterDefinitions\.0\.type must be equal to one of the allowed values/,
    );
    const notJson = await fetch(`${server.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{nope",
    });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ message: expect.stringContaining("the body is not valid JSON") });
    const wrongType = await fetch(`${server.url}/login`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "admin",
    });
    expect(wrongType.status).toBe(400);
    expect(server.counters.validationFailures - before).toBe(3);
    const unknown = await fetch(`${server.url}/no/such/path`);
    expect(unknown.status).toBe(404);
  });

  it("answers 401 with ML Server's messages on bad credentials, stale refresh tokens and missing tokens", async () => {
    const login = await fetch(`${server.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "alice", password: "nope-nope" }),
    });
    expect(login.status).toBe(401);
    expect(await login.json()).toMatchObject({ message: "invalid credentials" });
    const renew = await fetch(`${server.url}/login/refreshToken`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refreshToken: "made-up" }),
    });
    expect(await renew.json()).toMatchObject({ message: "invalid or expired refresh token" });
    expect((await fetch(`${server.url}/status`)).status).toBe(401);
    expect((await fetch(`${server.url}/status`, { headers: { authorization: "Bearer not.a.jwt" } })).status).toBe(401);
  });

  it("drops connections on request, and the token cycle retries through it", async () => {
    const s = await startDevServer({ faults: [{ route: "POST /login", kind: "drop", times: 1 }] });
    try {
      await expect(fetch(`${s.url}/login`, { method: "POST" })).rejects.toThrow(/fetch failed/);
      s.faults.push({ route: "POST /login", kind: "drop", times: 1 });
      const client = createMlServerClient({
        baseUrl: s.url,
        auth: mlServerLogin({ username: "admin", password: "Admin-Pa55word!", retryDelayMs: 5 }),
      });
      expect((await client.GET("/status")).response.status).toBe(200);
      expect(s.counters).toMatchObject({ faultsInjected: 2, logins: 1 });
    } finally {
      await s.close();
    }
  });
});

describe("the dev server answers bad requests with a 4xx, never a 500", () => {
  let server: DevServer;
  let token: string;
  let refresh: string;
  beforeAll(async () => {
    server = await startDevServer();
    const login = await fetch(`${server.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "admin", password: "Admin-Pa55word!" }),
    });
    ({ access_token: token, refresh_token: refresh } = (await login.json()) as {
      access_token: string;
      refresh_token: string;
    });
  });
  afterAll(() => server.close());
  const call = (path: string, init: RequestInit = {}) =>
    fetch(`${server.url}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } });

  it("parses JSON whatever the media type's case", async () => {
    for (const type of ["Application/JSON", "APPLICATION/JSON; charset=utf-8"]) {
      const response = await call("/services/cased/1", {
        method: "POST",
        headers: { "content-type": type },
        body: JSON.stringify({ code: "y = 1", runtimeType: "Python" }),
      });
      expect(response.status, type).toBe(type.includes("charset") ? 409 : 201);
    }
  });

  it("a malformed percent-encoding or malformed JSON is a 4xx", async () => {
    for (const path of ["/api/%ZZ/1", "/services/%ZZ/1", "/api/%E0%A4%A/1/batch"]) {
      const response = await call(path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      expect(response.status, path).toBeGreaterThanOrEqual(400);
      expect(response.status, path).toBeLessThan(500);
    }
    const broken = await call("/services/broken/1", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"code": ',
    });
    expect(broken.status).toBe(400);
  });

  it("a method a known path does not have is 405 with Allow", async () => {
    const response = await call("/status", { method: "DELETE" });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET");
  });

  it("401s say Bearer (RFC 6750), with error=invalid_token when a token was sent", async () => {
    const none = await fetch(`${server.url}/status`);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe('Bearer realm="mlserver"');
    const bad = await fetch(`${server.url}/status`, { headers: { authorization: "Bearer not-a-token" } });
    expect(bad.headers.get("www-authenticate")).toBe('Bearer realm="mlserver", error="invalid_token"');
  });

  it("no error message echoes a token or refresh token", async () => {
    const texts = await Promise.all([
      call(`/login/refreshToken/${refresh}`, { method: "DELETE" }).then((r) => r.text()),
      call(`/no/such/${token}`).then((r) => r.text()),
      call(`/api/${refresh}/1/unknown/x/y`, { method: "PATCH" }).then((r) => r.text()),
    ]);
    for (const text of texts) {
      expect(text).not.toContain(refresh);
      expect(text).not.toContain(token);
    }
  });
});

describe("the dev server's session modes and counters route", () => {
  const login = async (url: string) => {
    const response = await fetch(`${url}/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "admin", password: "Admin-Pa55word!" }),
    });
    return (await response.json()) as { access_token: string; refresh_token: string };
  };
  const statusWith = async (url: string, token: string) =>
    (await fetch(`${url}/status`, { headers: { authorization: `Bearer ${token}` } })).status;
  const renew = async (url: string, refreshToken: string) =>
    (
      await fetch(`${url}/login/refreshToken`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ refreshToken }),
      })
    ).status;

  it("per-pair (the default): a second sign-in leaves the first pair working", async () => {
    const server = await startDevServer();
    try {
      const first = await login(server.url);
      const second = await login(server.url);
      expect(await statusWith(server.url, first.access_token)).toBe(200);
      expect(await statusWith(server.url, second.access_token)).toBe(200);
      expect(await renew(server.url, first.refresh_token)).toBe(200);
      expect(await statusWith(server.url, second.access_token)).toBe(200);
    } finally {
      await server.close();
    }
  });

  it("strict: a sign-in or a renewal ends the user's other pairs", async () => {
    const server = await startDevServer({
      sessionMode: "strict",
      users: [
        { username: "admin", password: "Admin-Pa55word!" },
        { username: "bob", password: "bob-Pa55word" },
      ],
    });
    try {
      const first = await login(server.url);
      const bob = (await (
        await fetch(`${server.url}/login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ username: "bob", password: "bob-Pa55word" }),
        })
      ).json()) as { access_token: string };
      const second = await login(server.url);
      expect(await statusWith(server.url, first.access_token)).toBe(401);
      expect(await renew(server.url, first.refresh_token)).toBe(401);
      expect(await statusWith(server.url, second.access_token)).toBe(200);
      expect(await statusWith(server.url, bob.access_token)).toBe(200); // another user is untouched
      const third = await login(server.url);
      expect(await renew(server.url, third.refresh_token)).toBe(200);
      expect(await statusWith(server.url, second.access_token)).toBe(401);
    } finally {
      await server.close();
    }
  });

  it(
    "serves its counters at /_devserver/counters (GET reads, DELETE resets), uncounted, and 405 for other " + "methods",
    async () => {
      const server = await startDevServer();
      try {
        await login(server.url);
        const read = async () =>
          (await (await fetch(`${server.url}/_devserver/counters`)).json()) as Record<string, number>;
        const counters = await read();
        expect(counters).toMatchObject({ logins: 1, requests: 1, sessions: 1 });
        expect((await read()).requests).toBe(1);
        const post = await fetch(`${server.url}/_devserver/counters`, { method: "POST" });
        expect(post.status).toBe(405);
        expect(post.headers.get("allow")).toBe("GET, DELETE");
        expect(await (await fetch(`${server.url}/_devserver/counters`, { method: "DELETE" })).json()).toMatchObject({
          logins: 0,
          requests: 0,
        });
        expect(server.counters.logins).toBe(0);
      } finally {
        await server.close();
      }
    },
  );
});

describe("the dev server speaks CORS like ML Server", () => {
  let server: DevServer;
  let token: string;
  const APP = "http://app.contoso.test:5173";
  beforeAll(async () => {
    server = await startDevServer({ cors: { enabled: true, origins: [APP] } });
    const login = await fetch(`${server.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: APP },
      body: JSON.stringify({ username: "admin", password: "Admin-Pa55word!" }),
    });
    expect(login.headers.get("access-control-allow-origin")).toBe(APP);
    token = ((await login.json()) as { access_token: string }).access_token;
  });
  afterAll(() => server.close());
  const preflight = (origin: string | undefined, method = "POST") =>
    fetch(`${server.url}/services/scorer/1`, {
      method: "OPTIONS",
      headers: {
        ...(origin && { origin }),
        "access-control-request-method": method,
        "access-control-request-headers": "authorization, content-type",
      },
    });

  it(
    "an allowed origin: the preflight names the API's methods and headers, and every answer carries its " + "origin",
    async () => {
      const answer = await preflight(APP, "PATCH");
      expect(answer.status).toBe(204);
      expect(
        Object.fromEntries(
          [...answer.headers].filter(([name]) => name.startsWith("access-control-") || name === "vary"),
        ),
      ).toEqual({
        "access-control-allow-origin": APP,
        "access-control-allow-methods": "GET, POST, PUT, PATCH, DELETE",
        "access-control-allow-headers": "Authorization, Content-Type",
        "access-control-expose-headers": "WWW-Authenticate, Retry-After",
        "access-control-max-age": "600",
        vary: "Origin",
      });
      const ok = await fetch(`${server.url}/status`, { headers: { origin: APP, authorization: `Bearer ${token}` } });
      expect([ok.status, ok.headers.get("access-control-allow-origin")]).toEqual([200, APP]);
      // Errors too, so that the page can read why (and the 401's WWW-Authenticate).
      const refused = await fetch(`${server.url}/status`, { headers: { origin: APP } });
      expect([
        refused.status,
        refused.headers.get("access-control-allow-origin"),
        refused.headers.get("access-control-expose-headers"),
      ]).toEqual([401, APP, "WWW-Authenticate, Retry-After"]);
    },
  );

  it("a refused origin: the preflight is a 403 and no answer carries any CORS header", async () => {
    const answer = await preflight("https://evil.example");
    expect(answer.status).toBe(403);
    expect([...answer.headers.keys()].filter((name) => name.startsWith("access-control-"))).toEqual([]);
    const call = await fetch(`${server.url}/status`, {
      headers: { origin: "https://evil.example", authorization: `Bearer ${token}` },
    });
    expect([call.status, call.headers.get("access-control-allow-origin"), call.headers.get("vary")]).toEqual([
      200,
      null,
      "Origin",
    ]);
    // Not a prefix match: the origin must be exactly one that is listed.
    expect((await preflight(`${APP}.evil.example`)).status).toBe(403);
  });

  it("no Origin header (not a browser): answered as usual, without CORS headers", async () => {
    expect((await preflight(undefined)).status).toBe(403);
    const call = await fetch(`${server.url}/status`, { headers: { authorization: `Bearer ${token}` } });
    expect([call.status, call.headers.get("access-control-allow-origin")]).toEqual([200, null]);
  });

  it("CORS off (the default): a preflight is a 405 like any OPTIONS, with no CORS header", async () => {
    const plain = await startDevServer();
    try {
      const answer = await fetch(`${plain.url}/status`, {
        method: "OPTIONS",
        headers: { origin: APP, "access-control-request-method": "GET" },
      });
      expect(answer.status).toBe(405);
      expect(answer.headers.get("access-control-allow-origin")).toBeNull();
    } finally {
      await plain.close();
    }
  });
});
