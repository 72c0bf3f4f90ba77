import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../devserver/server.js";
import {
  aadClientCredentials,
  aadDeviceCode,
  clientCredentials,
  createMlServerClient,
  mlServerLogin,
  fileTokenStore,
  type AuthProvider,
  type DeviceCodePrompt,
  type TokenStore,
} from "../../src/index.js";
import { tempDir } from "../support/tmp.js";
import {
  azureAdSettings,
  RESOURCE,
  selfSignedCertificate,
  startTestAuthority,
  type TestAuthority,
} from "../support/authority.js";
import { SecretHygiene } from "../support/hygiene.js";

const hygiene = new SecretHygiene();
let authority: TestAuthority;
let server: DevServer;

beforeAll(async () => {
  authority = await startTestAuthority();
  for (const c of Object.values(authority.clients))
    hygiene.secret((c as { clientSecret?: string }).clientSecret, (c as { privateKey?: string }).privateKey);
  server = await startDevServer({ azureActiveDirectory: azureAdSettings(authority) });
}, 180_000);
afterAll(async () => {
  await server?.close();
  await authority?.close();
});

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

const failure = (fn: () => Promise<unknown>) => hygiene.failure(fn);

/** Approves each device code as it is shown, as a person at a browser would. */
function approving(prompts: DeviceCodePrompt[], options: { decline?: boolean } = {}) {
  return (prompt: DeviceCodePrompt) => {
    prompts.push(prompt);
    void authority.approveDevice(prompt.userCode, options).catch(() => {});
  };
}

interface Strategy {
  name: string;
  grant: string;
  make(extra?: { clock?: () => number; prompts?: DeviceCodePrompt[]; store?: TokenStore }): AuthProvider;
}

const strategies: Strategy[] = [
  {
    name: "aadClientCredentials with a client secret",
    grant: "client_credentials",
    make: (extra = {}) =>
      aadClientCredentials({
        authority: authority.issuer,
        ...authority.clients.basic,
        resource: RESOURCE,
        ca: authority.ca,
        ...extra,
      }),
  },
  {
    name: "aadClientCredentials with a certificate",
    grant: "client_credentials",
    make: (extra = {}) =>
      aadClientCredentials({
        authority: authority.issuer,
        clientId: authority.clients.certificate.clientId,
        ca: authority.ca,
        scopes: [`${RESOURCE}/.default`],
        certificate: {
          privateKey: authority.clients.certificate.privateKey,
          thumbprintSha256: authority.clients.certificate.thumbprintSha256,
        },
        ...extra,
      }),
  },
  {
    name: "clientCredentials (simple-oauth2) with client_secret_basic",
    grant: "client_credentials",
    make: (extra = {}) =>
      clientCredentials({
        tokenUrl: `${authority.issuer}/token`,
        ...authority.clients.basic,
        authMethod: "basic",
        ca: authority.ca,
        ...extra,
      }),
  },
  {
    name: "clientCredentials (simple-oauth2) with client_secret_post",
    grant: "client_credentials",
    make: (extra = {}) =>
      clientCredentials({
        tokenUrl: `${authority.issuer}/token`,
        ...authority.clients.post,
        authMethod: "body",
        scope: `${RESOURCE}/.default`,
        ca: authority.ca,
        ...extra,
      }),
  },
  {
    name: "aadDeviceCode",
    grant: "urn:ietf:params:oauth:grant-type:device_code",
    make: (extra = {}) =>
      aadDeviceCode({
        authority: authority.issuer,
        clientId: authority.clients.device.clientId,
        resource: RESOURCE,
        ca: authority.ca,
        onDeviceCode: approving(extra.prompts ?? []),
        ...(extra.clock && { clock: extra.clock }),
        ...(extra.store && { store: extra.store }),
      }),
  },
];

describe.each(strategies)("$name, end to end against oidc-provider and the dev server", (strategy) => {
  it("first token, cached token, a 401 then one resend, renewal before expiry, sign-out", async () => {
    let offset = 0;
    const prompts: DeviceCodePrompt[] = [];
    const auth = strategy.make({ clock: () => Date.now() + offset, prompts });
    const client = createMlServerClient({ baseUrl: server.url, auth, fetch: hygiene.fetch() });
    hygiene.object(auth);
    const before = { ...authority.tokenRequests };
    const requests = () => sum(authority.tokenRequests) - sum(before);
    const aadCalls = server.counters.azureAdCalls;

    // First token: one token request; the dev server verified the JWT against the authority's keys.
    expect((await client.GET("/status")).response.status).toBe(200);
    expect(requests()).toBe(1);
    expect(server.counters.azureAdCalls - aadCalls).toBe(1);
    if (strategy.grant.includes("device_code")) expect(prompts).toHaveLength(1);

    // Cached: no new token request.
    expect((await client.GET("/services")).response.status).toBe(200);
    expect(requests()).toBe(1);

    // A 401 on the current token: one renewal that bypasses caches, one resend.
    server.faults.push({ route: "GET /status", kind: "status", status: 401, times: 1 });
    expect((await client.GET("/status")).response.status).toBe(200);
    expect(requests()).toBe(2);

    // Renewal before expiry: the client's clock moves into the refresh window; the call is served
    // at once with the still-valid token while one renewal runs (no prompt for the device flow).
    offset = 58 * 60_000;
    expect((await client.GET("/status")).response.status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect((await client.GET("/status")).response.status).toBe(200);
    if (strategy.grant.includes("device_code")) {
      expect(authority.tokenRequests.refresh_token! - (before.refresh_token ?? 0)).toBeGreaterThanOrEqual(1);
      expect(prompts).toHaveLength(1);
    }
    offset = 0;

    await auth.signOut!();
    expect((await client.GET("/status")).response.status).toBe(200);
    if (strategy.grant.includes("device_code")) expect(prompts).toHaveLength(2);
    expect(requests()).toBeGreaterThanOrEqual(3);
  });

  it(
    "with a file store, a later run (a new provider) reuses the token: no second token request, no second " + "prompt",
    async () => {
      const store = fileTokenStore({ directory: await tempDir() });
      const before = sum(authority.tokenRequests);
      const prompts: DeviceCodePrompt[] = [];
      const first = createMlServerClient({ baseUrl: server.url, auth: strategy.make({ store, prompts }) });
      expect((await first.GET("/status")).response.status).toBe(200);
      expect(sum(authority.tokenRequests) - before).toBe(1);
      const later = createMlServerClient({ baseUrl: server.url, auth: strategy.make({ store, prompts }) });
      expect((await later.GET("/status")).response.status).toBe(200);
      expect(sum(authority.tokenRequests) - before).toBe(1);
      expect(prompts.length).toBeLessThanOrEqual(1);
    },
  );

  it("100 concurrent calls cause exactly one token request", async () => {
    const auth = strategy.make();
    const client = createMlServerClient({ baseUrl: server.url, auth, fetch: hygiene.fetch() });
    const before = sum(authority.tokenRequests);
    const results = await Promise.all(Array.from({ length: 100 }, () => client.GET("/status")));
    expect(results.every((r) => r.response.status === 200)).toBe(true);
    expect(sum(authority.tokenRequests) - before).toBe(1);
  });
});

describe("what goes wrong, as typed errors with no secret in them", () => {
  it("a wrong client secret", async () => {
    const wrong = "wrong-secret-0123456789";
    hygiene.secret(wrong);
    for (const auth of [
      aadClientCredentials({
        authority: authority.issuer,
        clientId: authority.clients.basic.clientId,
        clientSecret: wrong,
        resource: RESOURCE,
        ca: authority.ca,
      }),
      clientCredentials({
        tokenUrl: `${authority.issuer}/token`,
        clientId: authority.clients.basic.clientId,
        clientSecret: wrong,
        ca: authority.ca,
      }),
    ]) {
      const error = await failure(() => createMlServerClient({ baseUrl: server.url, auth }).GET("/status"));
      expect(error.code).toBe("ERR_AUTHENTICATION_FAILED");
      expect(error.message).toMatch(/invalid_client/);
    }
  });

  it("an unknown client", async () => {
    const error = await failure(() =>
      createMlServerClient({
        baseUrl: server.url,
        auth: clientCredentials({
          tokenUrl: `${authority.issuer}/token`,
          clientId: "nobody",
          clientSecret: "whatever-secret",
          authMethod: "body",
          ca: authority.ca,
        }),
      }).GET("/status"),
    );
    expect(error.code).toBe("ERR_AUTHENTICATION_FAILED");
    const msal = await failure(() =>
      createMlServerClient({
        baseUrl: server.url,
        auth: aadClientCredentials({
          authority: authority.issuer,
          clientId: "nobody",
          clientSecret: "whatever-secret",
          resource: RESOURCE,
          ca: authority.ca,
        }),
      }).GET("/status"),
    );
    expect(msal.code).toBe("ERR_AUTHENTICATION_FAILED");
  });

  it("an expired device code", async () => {
    const shortLived = await startTestAuthority({ deviceCodeSeconds: 1 });
    try {
      const auth = aadDeviceCode({
        authority: shortLived.issuer,
        clientId: shortLived.clients.device.clientId,
        resource: RESOURCE,
        ca: shortLived.ca,
        onDeviceCode: () => {},
      });
      const error = await failure(() => createMlServerClient({ baseUrl: server.url, auth }).GET("/status"));
      expect(error.code).toBe("ERR_DEVICE_CODE_EXPIRED");
      expect(error.message).toMatch(/expired before the sign-in was completed/);
    } finally {
      await shortLived.close();
    }
  });

  it("the user declines", async () => {
    const auth = aadDeviceCode({
      authority: authority.issuer,
      clientId: authority.clients.device.clientId,
      resource: RESOURCE,
      ca: authority.ca,
      onDeviceCode: approving([], { decline: true }),
    });
    const error = await failure(() => createMlServerClient({ baseUrl: server.url, auth }).GET("/status"));
    expect(error.code).toBe("ERR_AUTHORIZATION_DECLINED");
  });

  it("an AbortSignal abandons the device sign-in", async () => {
    const controller = new AbortController();
    const devicePolls = authority.tokenRequests["urn:ietf:params:oauth:grant-type:device_code"] ?? 0;
    const auth = aadDeviceCode({
      authority: authority.issuer,
      clientId: authority.clients.device.clientId,
      resource: RESOURCE,
      ca: authority.ca,
      signal: controller.signal,
      onDeviceCode: () => setTimeout(() => controller.abort(), 50),
    });
    // Without the abort, this would wait out the device code's 10 minutes (and the test's limit).
    const error = await failure(() => createMlServerClient({ baseUrl: server.url, auth }).GET("/status"));
    expect(error.name).toBe("AbortError");
    expect(authority.tokenRequests["urn:ietf:params:oauth:grant-type:device_code"] ?? 0).toBe(devicePolls);
  });

  it("the authority is unreachable", async () => {
    const gone = await startTestAuthority();
    await gone.close();
    for (const auth of [
      aadClientCredentials({
        authority: gone.issuer,
        ...gone.clients.basic,
        resource: RESOURCE,
        ca: gone.ca,
        maxAttempts: 1,
      }),
      clientCredentials({ tokenUrl: `${gone.issuer}/token`, ...gone.clients.basic, ca: gone.ca, maxAttempts: 1 }),
      aadDeviceCode({
        authority: gone.issuer,
        clientId: gone.clients.device.clientId,
        resource: RESOURCE,
        ca: gone.ca,
        maxAttempts: 1,
      }),
    ]) {
      const error = await failure(() => createMlServerClient({ baseUrl: server.url, auth }).GET("/status"));
      expect(error.code).toBe("ERR_TOKEN_ENDPOINT_UNAVAILABLE");
      expect(error.message).toMatch(/could not be reached \(ECONNREFUSED\)/);
    }
  });

  it.each(["html", "garbage"] as const)("the token endpoint answers with %s", async (mode) => {
    authority.breakTokenEndpoint(mode);
    try {
      for (const auth of [
        aadClientCredentials({
          authority: authority.issuer,
          ...authority.clients.basic,
          resource: RESOURCE,
          ca: authority.ca,
        }),
        clientCredentials({ tokenUrl: `${authority.issuer}/token`, ...authority.clients.basic, ca: authority.ca }),
      ]) {
        const error = await failure(() => createMlServerClient({ baseUrl: server.url, auth }).GET("/status"));
        expect(error.code).toBe("ERR_TOKEN_RESPONSE_INVALID");
        expect(error.message).not.toMatch(/maintenance|trunc/);
      }
    } finally {
      authority.breakTokenEndpoint(undefined);
    }
  });

  it("an untrusted certificate is refused unless its CA is given", async () => {
    const auth = clientCredentials({
      tokenUrl: `${authority.issuer}/token`,
      ...authority.clients.basic,
      maxAttempts: 1,
    });
    const error = await failure(() => createMlServerClient({ baseUrl: server.url, auth }).GET("/status"));
    expect(error.code).toBe("ERR_TOKEN_ENDPOINT_UNAVAILABLE");
    expect(error.message).toMatch(/SELF_SIGNED|self.signed|certificate/i);
  });
});

describe("TLS with a private CA, for the API itself", () => {
  it("an HTTPS dev server is refused without its CA and used with it, token calls included", async () => {
    const tls = selfSignedCertificate();
    const secure = await startDevServer({ tls });
    try {
      const auth = mlServerLogin({ username: "admin", password: "Admin-Pa55word!", maxAttempts: 1 });
      const error = await failure(() => createMlServerClient({ baseUrl: secure.url, auth }).GET("/status"));
      expect(error.code).toBe("ERR_TOKEN_ENDPOINT_UNAVAILABLE");
      const client = createMlServerClient({
        baseUrl: secure.url,
        auth: mlServerLogin({ username: "admin", password: "Admin-Pa55word!" }),
        ca: tls.cert,
      });
      expect((await client.GET("/status")).response.status).toBe(200);
      expect(secure.counters.logins).toBe(1);
    } finally {
      await secure.close();
    }
  });
});

describe("simple-oauth2's own debug output", () => {
  it("cannot print the client secret, even with DEBUG=simple-oauth2:*", async () => {
    const { execFile } = await import("node:child_process");
    const script = `
      import { clientCredentials, createMlServerClient } from "./src/index.ts";
      const { TOKEN_URL: tokenUrl, CLIENT_ID: clientId, CLIENT_SECRET: clientSecret, CA: ca } = process.env;
      const auth = clientCredentials({ tokenUrl, clientId, clientSecret, ca });
      const client = createMlServerClient({ baseUrl: process.env.API, auth });
      console.log("status", (await client.GET("/status")).response.status);`;
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
      execFile(
        process.execPath,
        ["--import", "tsx", "--input-type=module", "-e", script],
        {
          env: {
            ...process.env,
            DEBUG: "simple-oauth2:*,mlserver-client",
            TOKEN_URL: `${authority.issuer}/token`,
            CLIENT_ID: authority.clients.basic.clientId,
            CLIENT_SECRET: authority.clients.basic.clientSecret,
            CA: authority.ca,
            API: server.url,
          },
        },
        (error, out, err) => (error ? reject(error) : resolve({ stdout: out, stderr: err })),
      ),
    );
    expect(stdout).toContain("status 200");
    expect(stderr).toContain("mlserver-client token acquired");
    expect(stderr).not.toContain(authority.clients.basic.clientSecret);
    expect(stderr).not.toContain(
      Buffer.from(`${authority.clients.basic.clientId}:${authority.clients.basic.clientSecret}`)
        .toString("base64")
        .slice(0, 20),
    );
  });
});

describe("secret hygiene", () => {
  it("no secret, key or token appears in any error, inspect output or debug line of this file", () => {
    expect(hygiene.secrets.size).toBeGreaterThan(10);
    expect(hygiene.leaks()).toEqual([]);
    hygiene.stop();
  });
});
