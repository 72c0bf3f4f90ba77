import { createHash } from "node:crypto";
import createClient from "openapi-fetch";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer, type DevServerOptions } from "../../devserver/server.js";
import {
  authMiddleware,
  bearer,
  createMlServerClient,
  mlServerLogin,
  type MlServerLoginOptions,
  type MlServerTokens,
  type paths,
} from "../../src/index.js";
import { join } from "node:path";
import { SecretHygiene } from "../support/hygiene.js";
import { observeRefusals } from "../support/refusals.js";
import { knownSpecError, startForwarder, startPrismProxy, type Violation } from "../support/prism.js";
import { SPECS_DIR, specsAvailable } from "../support/specs.js";

const USER = { username: "admin", password: "Admin-Pa55word!" };
const hygiene = new SecretHygiene();
hygiene.secret(USER.password);

let servers: DevServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

/**
 * The suite runs twice: straight against the dev server, and through Prism validating every request
 * and response against Microsoft's 9.3.0 description (client → recorder → Prism → forwarder → dev
 * server), where every violation is collected and only the listed spec errors are tolerated.
 */
type Via = "direct" | "prism";
const prismViolations: Violation[] = [];
let prismChain: { front: string; setTarget(url: string): void; stop(): Promise<void> } | undefined;

async function startPrismChain() {
  const back = await startForwarder();
  const prism = await startPrismProxy(join(SPECS_DIR, "mlserver-swagger-9.3.0.json"), back.url);
  const recorder = await startForwarder((_method, _path, headers) => {
    const header = headers["sl-violations"];
    if (typeof header === "string") prismViolations.push(...(JSON.parse(header) as Violation[]));
  });
  recorder.setTarget(prism.url);
  return {
    front: recorder.url,
    setTarget: back.setTarget,
    stop: async () => {
      await recorder.close();
      await prism.stop();
      await back.close();
    },
  };
}

function setup(s: DevServer, options: Partial<MlServerLoginOptions> = {}) {
  const tokens: MlServerTokens[] = [];
  const auth = mlServerLogin({ ...USER, onTokens: (t) => t && tokens.push(t), retryDelayMs: 10, ...options });
  const client = createMlServerClient({ baseUrl: s.url, auth, fetch: hygiene.fetch() });
  hygiene.object(auth);
  hygiene.object(client);
  return { auth, client, tokens };
}

const failure = (fn: () => Promise<unknown>) => hygiene.failure(fn);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function suite(via: Via): void {
  const skippedUnderPrism = (why: string) => (via === "prism" ? ` (skipped under Prism: ${why})` : "");
  async function server(options: DevServerOptions = {}): Promise<DevServer> {
    const s = await startDevServer(options);
    servers.push(s);
    if (via === "direct") return s;
    prismChain!.setTarget(s.url);
    const front = prismChain!.front;
    return new Proxy(s, { get: (target, key) => (key === "url" ? front : Reflect.get(target, key)) });
  }

  describe(`mlServerLogin against the dev server (${via})`, () => {
    it("200 concurrent first calls cause exactly 1 login", async () => {
      const s = await server();
      const { client } = setup(s);
      const results = await Promise.all(Array.from({ length: 200 }, () => client.GET("/status")));
      expect(results.every((r) => r.response.status === 200)).toBe(true);
      expect(s.counters.logins).toBe(1);
    });

    it("200 concurrent calls with an expired token cause exactly 1 renewal", async () => {
      const s = await server();
      // The client's clock jumps past the token's hour: the token is expired to it, and no call
      // depends on how fast the machine (or a proxy) is.
      let offset = 0;
      const { client } = setup(s, { clock: () => Date.now() + offset });
      await client.GET("/status");
      offset = 3_600_000;
      const results = await Promise.all(Array.from({ length: 200 }, () => client.GET("/status")));
      expect(results.map((r) => r.response.status)).toEqual(Array(200).fill(200));
      expect(s.counters.renewals).toBe(1);
      expect(s.counters.logins).toBe(1);
      expect(s.counters.unauthorized).toBe(0);
    });

    it(
      "a steady stream at concurrency 20 with 1-second tokens: no failed call, renewals by lifetime, 401s only " +
        "for calls in flight during a rotation",
      async () => {
        const s = await server({ accessTokenSeconds: 1 });
        const { fetch: observing, refusals } = observeRefusals(s);
        const auth = mlServerLogin({ ...USER, retryDelayMs: 10 });
        const client = createMlServerClient({ baseUrl: s.url, auth, fetch: hygiene.fetch(observing) });
        const started = Date.now();
        const statuses: number[] = [];
        await Promise.all(
          Array.from({ length: 20 }, async (_, worker) => {
            for (let i = 0; Date.now() - started < 4000 || statuses.length < 500; i++) {
              const r =
                (worker + i) % 2 === 0
                  ? await client.GET("/status")
                  : await client.GET("/services/{name}", { params: { path: { name: `svc-${worker}` } } });
              statuses.push(r.response.status);
            }
          }),
        );
        const seconds = (Date.now() - started) / 1000;
        expect(statuses.length).toBeGreaterThanOrEqual(500);
        // A call fails only when its resend, too, carried a token that lapsed or was rotated away in
        // flight (checked below for every refusal): on a loaded machine with 1-second tokens that is
        // possible, never more than the refusals of resends, and never any other status.
        const failed = statuses.filter((st) => st !== 200);
        expect(failed.filter((st) => st !== 401)).toEqual([]);
        expect(failed.length * 2).toBeLessThanOrEqual(refusals.length);
        // A renewal at 0.9 of each 1-second lifetime: about seconds / 0.9, and never one per 401.
        expect(s.counters.renewals).toBeGreaterThanOrEqual(Math.floor(seconds) - 1);
        // Under load the expiry margin grows with slow round trips (to at most a quarter of the
        // lifetime), so renewals come at 0.75 of each lifetime at the earliest.
        expect(s.counters.renewals).toBeLessThanOrEqual(Math.ceil(seconds / 0.75) + 1);
        expect(s.counters.logins).toBe(1);
        // Every 401 the server sent hit a call whose token was valid when it was sent: it was rotated
        // away by a renewal, or (on a loaded machine, with 1-second tokens) lapsed, while in flight.
        expect(refusals.filter((r) => !r.validWhenSent)).toEqual([]);
        expect(s.counters.unauthorizedApiCalls).toBe(refusals.length);
        const rotated = refusals.filter((r) => r.rotatedMeanwhile).length;
        console.log(
          `steady stream: ${statuses.length} calls in ${seconds.toFixed(1)} s, ${s.counters.renewals} renewals, ` +
            `401s: ${rotated} after a rotation, ${refusals.length - rotated} after a lapse in transit; ` +
            `${failed.length} calls failed after their resend`,
        );
      },
    );

    it("resends a JSON body once after a 401, then returns a second 401 as it is", async () => {
      const s = await server();
      const { client } = setup(s);
      await client.GET("/status");
      s.faults.push({ route: "POST /services/{name}/{version}", kind: "status", status: 401, times: 1 });
      const published = await client.POST("/services/{name}/{version}", {
        params: { path: { name: "scorer", version: "1.0" } },
        body: { code: "result = x * 2", runtimeType: "Python", description: "doubles x" },
      });
      expect(published.response.status).toBe(201);
      expect(s.services.get("scorer\u00001.0")).toMatchObject({ code: "result = x * 2", description: "doubles x" });
      expect(s.counters.renewals).toBe(1);

      s.faults.push({ route: "GET /services", kind: "status", status: 401, times: 2 });
      const before = s.requests.filter((r) => r.route === "GET /services").length;
      const refused = await client.GET("/services");
      expect(refused.response.status).toBe(401);
      expect(s.requests.filter((r) => r.route === "GET /services").length - before).toBe(2);
    });

    it("resends multipart and binary bodies intact after a 401", async () => {
      const s = await server();
      const { client } = setup(s);
      const model = new Uint8Array(256 * 1024).map((_, i) => (i * 7919) % 251);
      s.faults.push({ route: "POST /realtime-services/{name}/{version}", kind: "status", status: 401, times: 1 });
      const published = await client.POST("/realtime-services/{name}/{version}", {
        params: { path: { name: "kmeans", version: "2.0" } },
        body: { model: new Blob([model]), description: "clusters" },
        bodySerializer: (body) => {
          const form = new FormData();
          form.set("model", body.model, "model.bin");
          if (body.description) form.set("description", body.description);
          return form;
        },
      });
      expect(published.response.status).toBe(201);
      expect(s.services.get("kmeans\u00002.0")).toMatchObject({ runtimeType: "Realtime" });
      // Prism re-encodes binary bodies as text (bytes over 0x7f become U+FFFD), so bytes are
      // compared on the direct run; through Prism the resend itself is what is checked.
      if (via === "direct") {
        expect(s.services.get("kmeans\u00002.0")).toMatchObject({
          modelBytes: model.length,
          modelSha256: createHash("sha256").update(model).digest("hex"),
        });
      }

      // A workspace object is a binary body resent after the 401: a pickle (protocol 0, ASCII, so
      // that it survives Prism's re-encoding) of [0, 1, 2, 253, 254, 255].
      const session = await client.POST("/sessions", { body: { name: "work", runtimeType: "Python" } });
      const id = session.data!.sessionId!;
      const object = new TextEncoder().encode("(lp0\nI0\naI1\naI2\naI253\naI254\naI255\na.");
      s.faults.push({ route: "POST /sessions/{id}/workspace/{objectName}", kind: "status", status: 401, times: 1 });
      const stored = await client.POST("/sessions/{id}/workspace/{objectName}", {
        params: { path: { id, objectName: "weights" } },
        body: new Blob([object]),
        bodySerializer: (body) => body,
        headers: { "content-type": "application/octet-stream" },
      });
      expect(stored.response.status).toBe(200);
      const read = await client.POST("/sessions/{id}/execute", {
        params: { path: { id } },
        body: { code: "w = {'loaded': weights}", outputParameters: ["w"] },
      });
      expect(read.data?.outputParameters).toEqual([{ name: "w", value: { loaded: [0, 1, 2, 253, 254, 255] } }]);
      expect(s.counters.renewals).toBe(2);
    });

    it("sends no token to POST /login or POST /login/refreshToken, and one to everything else", async () => {
      const s = await server({ accessTokenSeconds: 1 });
      const { client } = setup(s);
      await client.GET("/status");
      await sleep(1000);
      await client.GET("/status");
      const tokenCalls = s.requests.filter((r) => r.route === "POST /login" || r.route === "POST /login/refreshToken");
      expect(tokenCalls.map((r) => r.route)).toEqual(["POST /login", "POST /login/refreshToken"]);
      expect(tokenCalls.every((r) => !r.hadAuthorization)).toBe(true);
      expect(s.requests.filter((r) => r.route === "GET /status").every((r) => r.hadAuthorization)).toBe(true);
      // Even a direct call to /login through the client carries no credentials.
      const direct = await client.POST("/login", { body: { username: "nobody", password: "wrong-password-1" } });
      hygiene.secret("wrong-password-1");
      expect(direct.response.status).toBe(401);
      expect(s.requests.at(-1)).toMatchObject({ route: "POST /login", hadAuthorization: false });
    });

    it("rotation: after a renewal the old refresh token and the old access token are refused", async () => {
      const s = await server({ accessTokenSeconds: 1 });
      const { client, tokens } = setup(s);
      await client.GET("/status");
      await sleep(1000);
      await client.GET("/status");
      expect(tokens).toHaveLength(2);
      const [first, second] = tokens as [MlServerTokens, MlServerTokens];
      for (const set of tokens) {
        expect(Object.keys(set).sort()).toEqual(["accessToken", "expiresAt", "refreshToken", "tokenType"]);
        expect(set.refreshToken.length).toBeGreaterThan(10);
      }
      const reuse = await fetch(`${s.url}/login/refreshToken`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ refreshToken: first.refreshToken }),
      });
      expect(reuse.status).toBe(401);
      expect(await reuse.json()).toMatchObject({ message: "invalid or expired refresh token" });
      const old = await fetch(`${s.url}/status`, { headers: { authorization: `Bearer ${first.accessToken}` } });
      expect(old.status).toBe(401);
      const current = await fetch(`${s.url}/status`, { headers: { authorization: `Bearer ${second.accessToken}` } });
      expect(current.status).toBe(200);
    });

    it(
      "signOut revokes: the old token is refused by the server and later calls fail clearly until " + "signIn",
      async () => {
        const s = await server();
        const { auth, client, tokens } = setup(s);
        await client.GET("/status");
        const [issued] = tokens as [MlServerTokens];
        await auth.signOut();
        expect(s.counters.revokes).toBe(1);
        const replay = await fetch(`${s.url}/status`, { headers: { authorization: `Bearer ${issued.accessToken}` } });
        expect(replay.status).toBe(401);
        const renew = await fetch(`${s.url}/login/refreshToken`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ refreshToken: issued.refreshToken }),
        });
        expect(renew.status).toBe(401);
        const error = await failure(() => client.GET("/status"));
        expect(error).toMatchObject({ code: "ERR_SIGNED_OUT", name: "SignedOutError" });
        expect(error.message).toMatch(/call signIn\(\)/);
        await auth.signIn();
        expect((await client.GET("/status")).response.status).toBe(200);
        expect(s.counters.logins).toBe(2);
      },
    );

    // 2017-era servers only: the path form is not in the 9.3.0 description Prism enforces.
    it.skipIf(via === "prism")(
      `signOut with the older path form of revoke${skippedUnderPrism("its 9.3.0 description has no path-form revoke")}`,
      async () => {
        const s = await server({ legacyRevokePath: true });
        const { auth, client, tokens } = setup(s, { revokeStyle: "path" });
        await client.GET("/status");
        await auth.signOut();
        expect(s.counters.revokes).toBe(1);
        expect(s.requests.at(-1)).toMatchObject({
          route: "DELETE /login/refreshToken/{refreshToken}",
          status: 200,
          hadAuthorization: true,
        });
        const renew = await fetch(`${s.url}/login/refreshToken`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ refreshToken: tokens[0]!.refreshToken }),
        });
        expect(renew.status).toBe(401);
      },
    );

    it("signs in again when the refresh token is refused (e.g. past the session cap)", async () => {
      // Server and client share a clock moved by hand, so no step depends on how fast the machine is.
      let offset = 0;
      const clock = () => Date.now() + offset;
      const s = await server({ accessTokenSeconds: 60, maxSessionSeconds: 100, clock });
      const { client } = setup(s, { clock });
      await client.GET("/status");
      offset += 61_000;
      await client.GET("/status"); // renewed within the cap
      offset += 61_000;
      const late = await client.GET("/status"); // the cap is past: renewal refused, so a new sign-in
      expect(late.response.status).toBe(200);
      expect(s.counters).toMatchObject({ logins: 2, renewals: 1, failedRenewals: 1 });
    });

    it("without credentials, a refused refresh token is a clear error", async () => {
      const s = await server({ accessTokenSeconds: 1 });
      const first = setup(s);
      await first.client.GET("/status");
      const saved = first.tokens.at(-1)!;
      s.authority.revoke(saved.refreshToken);
      await sleep(1000);
      const auth = mlServerLogin({ tokens: saved, retryDelayMs: 10 });
      const client = createMlServerClient({ baseUrl: s.url, auth });
      hygiene.object(auth);
      const error = await failure(() => client.GET("/status"));
      expect(error).toMatchObject({ code: "ERR_TOKEN_REFRESH_FAILED" });
      expect(error.message).toMatch(/refused the refresh token .*sign in again/);
    });

    it("starts from saved tokens without signing in, and reports the renewed set", async () => {
      const s = await server();
      const first = setup(s);
      await first.client.GET("/status");
      const saved = first.tokens.at(-1)!;
      const reported: (MlServerTokens | null)[] = [];
      const auth = mlServerLogin({ tokens: saved, onTokens: (t) => reported.push(t) });
      const client = createMlServerClient({ baseUrl: s.url, auth });
      expect((await client.GET("/status")).response.status).toBe(200);
      expect(s.counters.logins).toBe(1);
      await auth.signOut();
      expect(reported).toEqual([null]);
    });

    it("takes credentials from a callback, asked only when a sign-in is needed", async () => {
      const s = await server();
      let asked = 0;
      const auth = mlServerLogin({ credentials: async () => (asked++, USER) });
      const client = createMlServerClient({ baseUrl: s.url, auth });
      await Promise.all(Array.from({ length: 20 }, () => client.GET("/status")));
      expect(asked).toBe(1);
    });

    it("wrong credentials: a typed error that names the user and not the password", async () => {
      const s = await server();
      hygiene.secret("Wrong-Pa55word!");
      const auth = mlServerLogin({ username: "admin", password: "Wrong-Pa55word!" });
      const client = createMlServerClient({ baseUrl: s.url, auth });
      const error = await failure(() => client.GET("/status"));
      expect(error).toMatchObject({ code: "ERR_AUTHENTICATION_FAILED", status: 401 });
      expect(error.message).toMatch(/refused the sign-in of "admin" \(HTTP 401\): check the username and password/);
      expect(s.counters.failedLogins).toBe(1); // a 401 is not retried
    });

    // Through Prism an unreachable upstream is Prism's 5xx, not a refused connection.
    it.skipIf(via === "prism")(
      `an unreachable server: bounded retries, then a typed error${skippedUnderPrism("it answers 5xx itself")}`,
      async () => {
        const s = await server();
        const url = s.url;
        await s.close();
        const auth = mlServerLogin({ ...USER, retryDelayMs: 5, maxAttempts: 3 });
        const client = createMlServerClient({ baseUrl: url, auth });
        const error = await failure(() => client.GET("/status"));
        expect(error).toMatchObject({ code: "ERR_TOKEN_ENDPOINT_UNAVAILABLE" });
        expect(error.message).toMatch(
          /POST \/login at http:\/\/127\.0\.0\.1:\d+ could not be reached \(ECONNREFUSED\)/,
        );
      },
    );

    it("a token endpoint slower than the time limit: a typed error, after bounded retries", async () => {
      // The limit leaves a loaded machine (and Prism in between) room to answer an undelayed sign-in.
      const s = await server({ faults: [{ route: "POST /login", kind: "delay", delayMs: 4000, times: 2 }] });
      const { client } = setup(s, { timeoutMs: 1500, maxAttempts: 2 });
      const error = await failure(() => client.GET("/status"));
      expect(error).toMatchObject({ code: "ERR_TOKEN_ENDPOINT_UNAVAILABLE" });
      expect(error.message).toMatch(/did not answer within 1500 ms/);
      await sleep(2000);
      expect((await client.GET("/status")).response.status).toBe(200);
    });

    it("a 503 from the token endpoint is retried and the call succeeds", async () => {
      const s = await server({ faults: [{ route: "POST /login", kind: "status", status: 503, times: 2 }] });
      const { client } = setup(s, { maxAttempts: 3 });
      expect((await client.GET("/status")).response.status).toBe(200);
      expect(s.counters).toMatchObject({ faultsInjected: 2, logins: 1 });
    });

    it("one caller's AbortSignal abandons its own wait, not the sign-in others wait on", async () => {
      // The sign-in stalls long enough that the abort lands during it even on a loaded machine.
      const s = await server({ faults: [{ route: "POST /login", kind: "delay", delayMs: 1500, times: 1 }] });
      const { client } = setup(s);
      const controller = new AbortController();
      const impatient = client.GET("/status", { signal: controller.signal });
      const patient = Array.from({ length: 5 }, () => client.GET("/status"));
      await sleep(50);
      controller.abort();
      await expect(impatient).rejects.toMatchObject({ name: "AbortError" });
      expect((await Promise.all(patient)).map((r) => r.response.status)).toEqual(Array(5).fill(200));
      expect(s.counters.logins).toBe(1);
    });
  });

  describe(`credentials go only where they belong (${via})`, () => {
    it("refuses plain HTTP to a host that is not loopback, at construction, saying how to opt out", async () => {
      const auth = bearer("static-token-value-1234");
      hygiene.secret("static-token-value-1234");
      const error = await failure(async () =>
        createMlServerClient({ baseUrl: "http://mlserver.example.com:12800", auth }),
      );
      expect(error).toMatchObject({ code: "ERR_INSECURE_TRANSPORT" });
      expect(error.message).toMatch(/allowInsecureHttp: true/);
      expect(() =>
        createMlServerClient({ baseUrl: "http://mlserver.example.com:12800", auth, allowInsecureHttp: true }),
      ).not.toThrow();
      expect(() => createMlServerClient({ baseUrl: "https://mlserver.example.com:12800", auth })).not.toThrow();
    });

    it("allows plain HTTP to loopback: 127.0.0.1, localhost and [::1]", async () => {
      const s = await server();
      const auth = mlServerLogin(USER);
      for (const host of ["127.0.0.1", "localhost"]) {
        const client = createMlServerClient({
          baseUrl: s.url.replace("127.0.0.1", host),
          auth: host === "localhost" ? mlServerLogin(USER) : auth,
        });
        expect((await client.GET("/status")).response.status).toBe(200);
      }
      expect(() =>
        createMlServerClient({ baseUrl: "http://[::1]:12800", auth: bearer("x-token-12345") }),
      ).not.toThrow();
    });

    it("fails loudly at construction on an allowlist entry that is not an origin", async () => {
      for (const entry of [
        "mlserver.example.com",
        "https://mlserver.example.com/api",
        "https://*.example.com",
        "https://user:pw@mlserver.example.com",
        "ftp://mlserver.example.com",
      ]) {
        const error = await failure(async () =>
          createMlServerClient({
            baseUrl: "https://mlserver.example.com",
            auth: bearer("t0ken-abcdef"),
            allowedOrigins: [entry],
          }),
        );
        expect(error).toMatchObject({ code: "ERR_INVALID_OPTION" });
        expect(error.message).toContain("is not an origin: write it as scheme://host[:port]");
      }
      expect(() =>
        createMlServerClient({
          baseUrl: "https://mlserver.example.com",
          auth: bearer("t0ken-abcdef"),
          allowedOrigins: ["https://mlserver.example.com/"],
        }),
      ).not.toThrow();
    });

    it("refuses, before sending, a request to an origin that is not allowed", async () => {
      const s = await server();
      const auth = authMiddleware(bearer("static-token-value-1234"), {
        allowedOrigins: ["https://mlserver.example.com"],
      });
      const client = createClient<paths>({ baseUrl: s.url, fetch: auth.fetch });
      client.use(auth);
      const error = await failure(() => client.GET("/status"));
      expect(error).toMatchObject({ code: "ERR_ORIGIN_NOT_ALLOWED" });
      expect(error.message).toMatch(
        /Refusing to send credentials to http:\/\/127\.0\.0\.1:\d+: it is not an allowed origin /,
      );
      expect(error.message).toContain("not an allowed origin (https://mlserver.example.com)");
      expect(s.counters.requests).toBe(0);
    });

    it("a static bearer token and a bearer callback work unchanged through the client", async () => {
      const s = await server();
      const login = await fetch(`${s.url}/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(USER),
      });
      const { access_token: token } = (await login.json()) as { access_token: string };
      hygiene.secret(token);
      const fixed = createMlServerClient({ baseUrl: s.url, auth: bearer(token) });
      expect((await fixed.GET("/status")).response.status).toBe(200);
      let asked = 0;
      const viaCallback = createMlServerClient({
        baseUrl: s.url,
        auth: bearer(async () => (asked++, { token, expiresAt: Date.now() + 60_000 })),
      });
      const results = await Promise.all(Array.from({ length: 50 }, () => viaCallback.GET("/status")));
      expect(results.every((r) => r.response.status === 200)).toBe(true);
      expect(asked).toBe(1);
    });
  });
}

suite("direct");
if (specsAvailable || process.env.CI === "true") {
  describe("through Prism", () => {
    beforeAll(async () => {
      prismChain = await startPrismChain();
    }, 180_000);
    afterAll(() => prismChain?.stop());
    suite("prism");
    it("Prism saw no violation of Microsoft's description but the listed spec errors", () => {
      expect(prismViolations.length).toBeGreaterThan(0);
      expect(prismViolations.filter((v) => !knownSpecError(v))).toEqual([]);
    });
  });
}

describe("secret hygiene", () => {
  beforeAll(() => {
    expect(hygiene.secrets.size).toBeGreaterThan(0);
  });
  afterAll(() => hygiene.stop());

  it(
    "no password or token appears in any error, String(err), util.inspect of a provider or client, or debug " +
      "line of this suite",
    () => {
      // The suite above must have produced real material to search, or this check would be empty.
      expect(hygiene.secrets.size).toBeGreaterThan(20);
      expect(hygiene.outputs.length).toBeGreaterThan(50);
      expect(hygiene.outputs.some((line) => /token renewed: #[0-9a-f]{8}/.test(line))).toBe(true);
      expect(hygiene.leaks()).toEqual([]);
    },
  );
});
