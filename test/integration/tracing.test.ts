/**
 * OpenTelemetry spans, with the SDK's in-memory exporter: a client span per API call (method, path
 * template, status, server address and port, retry count), spans for sign-in, renewal and revoke
 * with the strategy and outcome, `traceparent` only to allowed origins, no secret and no query
 * string anywhere, nothing recorded when unsampled, and nothing at all with `tracing: false`.
 */
import * as otel from "@opentelemetry/api";
import { context, propagation, trace } from "@opentelemetry/api";
import {
  AlwaysOffSampler,
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
  type ReadableSpan,
} from "@opentelemetry/sdk-trace-node";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../devserver/server.js";
import createClient from "openapi-fetch";
import {
  authMiddleware,
  createMlServerClient,
  mlServerLogin,
  openTelemetry,
  operationSecurity,
} from "../../src/index.js";
import type { paths } from "../../src/index.js";
import { findSecrets, startHostile } from "../support/hostile.js";

const USER = { username: "admin", password: "Admin-Pa55word!" };
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
let server: DevServer;

beforeAll(async () => {
  provider.register({ propagator: new W3CTraceContextPropagator() });
  server = await startDevServer({ accessTokenSeconds: 60 });
});
afterAll(async () => {
  await server.close();
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});
afterEach(() => {
  exporter.reset();
  server.faults.length = 0;
});

const spans = () => exporter.getFinishedSpans();
const byName = (name: string) => spans().filter((s) => s.name === name);
/** Every attribute value and event of every span, as text, to search for secrets. */
const everything = (list: readonly ReadableSpan[]) =>
  list.flatMap((s) => [s.name, ...Object.values(s.attributes).map(String), ...s.events.map((e) => JSON.stringify(e))]);

describe("spans", () => {
  it(
    "a client span per API call, named by its path template, with HTTP's attributes and the retries it " + "took",
    async () => {
      const auth = mlServerLogin(USER);
      const client = createMlServerClient({
        baseUrl: server.url,
        auth,
        retry: { sleep: async () => {}, random: () => 0 },
      });
      await client.GET("/status");
      exporter.reset();
      server.faults.push({ route: "GET /services/{name}/{version}", kind: "status", status: 503, times: 1 });
      const { response } = await client.GET("/services/{name}/{version}", {
        params: { path: { name: "secret-project-name", version: "1.0" } },
      });
      expect(response.status).toBe(404);
      const [span] = byName("GET /services/{name}/{version}");
      expect(span).toBeDefined();
      expect(span!.kind).toBe(2); // CLIENT
      const port = Number(new URL(server.url).port);
      expect(span!.attributes).toMatchObject({
        "http.request.method": "GET",
        "url.template": "/services/{name}/{version}",
        "server.address": "127.0.0.1",
        "server.port": port,
        "http.response.status_code": 404,
        "http.request.resend_count": 1,
        "error.type": "404",
      });
      expect(everything(spans()).join("\n")).not.toContain("secret-project-name");
    },
  );

  it(
    "spans for sign-in, renewal and revoke, with the strategy and outcome, and a token's fingerprint but never " +
      "the token",
    async () => {
      let now = Date.now();
      const tokens: string[] = [];
      const auth = mlServerLogin({
        ...USER,
        clock: () => now,
        onTokens: (t) => t && tokens.push(t.accessToken, t.refreshToken),
      });
      const client = createMlServerClient({ baseUrl: server.url, auth });
      await client.GET("/status");
      now += 58_000; // due: renewed
      await client.GET("/status");
      await auth.signOut();
      const signIn = byName("mlserver-client sign-in");
      const renewal = byName("mlserver-client renewal");
      const revoke = byName("mlserver-client revoke");
      expect(signIn).toHaveLength(1);
      expect(renewal).toHaveLength(1);
      expect(revoke).toHaveLength(1);
      for (const span of [...signIn, ...renewal, ...revoke]) {
        expect(span.attributes).toMatchObject({
          "mlserver_client.strategy": "ml-server-login",
          "mlserver_client.outcome": "success",
        });
        expect(span.attributes["mlserver_client.token.fingerprint"]).toMatch(/^#[0-9a-f]{8}$/);
      }
      expect(findSecrets(everything(spans()), [USER.password, ...tokens])).toEqual([]);
    },
  );

  it("a failed sign-in is a span with outcome failure and the error's code", async () => {
    const client = createMlServerClient({
      baseUrl: server.url,
      auth: mlServerLogin({ username: "admin", password: "wrong-Pa55word" }),
    });
    await expect(client.GET("/status")).rejects.toMatchObject({ code: "ERR_AUTHENTICATION_FAILED" });
    const [span] = byName("mlserver-client sign-in");
    expect(span!.attributes).toMatchObject({
      "mlserver_client.outcome": "failure",
      "error.type": "ERR_AUTHENTICATION_FAILED",
    });
    expect(everything(spans()).join("\n")).not.toContain("wrong-Pa55word");
  });

  it(
    "sends traceparent to the allowed origin, and never across a redirect to another origin; no query string " +
      "in any span",
    async () => {
      const other = await startHostile((_request, response) => {
        response.writeHead(200, { "content-type": "application/json" });
        response.end("[]");
      });
      const home = await startHostile((request, response) => {
        if (request.url.startsWith("/services")) {
          response.writeHead(307, { location: `${other.url}/elsewhere?x=1` });
          response.end();
          return;
        }
        response.writeHead(200, { "content-type": "application/json" });
        response.end("{}");
      });
      try {
        const client = createMlServerClient({
          baseUrl: home.url,
          auth: { authorize: (r) => void r.headers.set("authorization", "Bearer abc-static-token") },
        });
        await client.GET("/status", { params: { query: { probe: "query-value" } } as never });
        await client.GET("/services");
        const homeRequests = home.received;
        expect(
          homeRequests.every(
            (r) =>
              typeof r.headers.traceparent === "string" &&
              /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/.test(r.headers.traceparent as string),
          ),
        ).toBe(true);
        expect(other.received).toHaveLength(1);
        expect(other.received[0]!.headers.traceparent).toBeUndefined();
        expect(other.received[0]!.headers.authorization).toBeUndefined();
        expect(everything(spans()).join("\n")).not.toMatch(/query-value|x=1|abc-static-token/);
      } finally {
        await home.close();
        await other.close();
      }
    },
  );

  it("tracing: false records nothing and sends no traceparent", async () => {
    const recorder = await startHostile((_request, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.end("{}");
    });
    try {
      await createMlServerClient({ baseUrl: recorder.url, tracing: false }).GET("/status");
      expect(spans()).toEqual([]);
      expect(recorder.received[0]!.headers.traceparent).toBeUndefined();
    } finally {
      await recorder.close();
    }
  });
});

describe("tracing belongs to each client", () => {
  it("a strategy's token spans go to the tracing of the client that binds it, none without", async () => {
    const untraced = mlServerLogin(USER);
    await createMlServerClient({ baseUrl: server.url, auth: untraced, tracing: false }).GET("/status");
    expect(spans()).toEqual([]);
    // A client made after it, in the same process, with the app's module given: spans of its own.
    const traced = mlServerLogin(USER);
    const client = createMlServerClient({ baseUrl: server.url, auth: traced, tracing: openTelemetry(otel) });
    await client.GET("/status");
    expect(byName("mlserver-client sign-in")).toHaveLength(1);
    expect(byName("GET /status")).toHaveLength(1);
    await untraced.signOut();
    expect(byName("mlserver-client revoke")).toHaveLength(0);
    await traced.signOut();
    expect(byName("mlserver-client revoke")).toHaveLength(1);
  });

  it("authMiddleware on an openapi-fetch client of the app's records the sign-in span too", async () => {
    const auth = mlServerLogin(USER);
    const middleware = authMiddleware(auth, { allowedOrigins: [server.url], security: operationSecurity });
    const client = createClient<paths>({ baseUrl: server.url, fetch: middleware.fetch });
    client.use(middleware);
    expect((await client.GET("/status")).response.status).toBe(200);
    expect(byName("mlserver-client sign-in")).toHaveLength(1);
    await auth.signOut();
    expect(byName("mlserver-client revoke")).toHaveLength(1);
  });
});

describe("unsampled", () => {
  it("records no span when the sampler drops them", async () => {
    const quiet = new InMemorySpanExporter();
    const unsampled = new NodeTracerProvider({
      sampler: new AlwaysOffSampler(),
      spanProcessors: [new SimpleSpanProcessor(quiet)],
    });
    trace.disable();
    unsampled.register();
    try {
      await createMlServerClient({ baseUrl: server.url, auth: mlServerLogin(USER) }).GET("/status");
      expect(quiet.getFinishedSpans()).toEqual([]);
    } finally {
      trace.disable();
      provider.register({ propagator: new W3CTraceContextPropagator() });
      await unsampled.shutdown();
    }
  });
});
