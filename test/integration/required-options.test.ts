/**
 * A required secret that is missing or empty is an `ERR_INVALID_OPTION` naming where it came from,
 * before any request: `password: process.env.MLSERVER_PASSWORD!` with the variable unset (a cron
 * job without its environment) must not read as a password the server refused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../devserver/server.js";
import {
  aadClientCredentials,
  apiKey,
  bearer,
  clientCredentials,
  createMlServerClient,
  customHeader,
  httpBasic,
  httpDigest,
  InvalidOptionError,
  mlServerLogin,
} from "../../src/index.js";

const unset = process.env.MLSERVER_TEST_VARIABLE_NEVER_SET;

describe("required secrets, checked before the first request", () => {
  let server: DevServer;
  beforeAll(async () => {
    server = await startDevServer();
  });
  afterAll(() => server?.close());

  const construction: [string, () => unknown, RegExp][] = [
    [
      "mlServerLogin, password unset",
      () => mlServerLogin({ username: "admin", password: unset! }),
      /mlServerLogin's password is not set \(undefined\)/,
    ],
    [
      "mlServerLogin, password empty",
      () => mlServerLogin({ username: "admin", password: "" }),
      /mlServerLogin's password is empty/,
    ],
    [
      "httpBasic, password unset",
      () => httpBasic({ username: "svc", password: unset! }),
      /httpBasic's password is not set/,
    ],
    [
      "httpDigest, password empty",
      () => httpDigest({ username: "svc", password: "" }),
      /httpDigest's password is empty/,
    ],
    ["bearer, token unset", () => bearer(unset!), /bearer\(\)'s token is not set/],
    [
      "customHeader, value unset",
      () => customHeader({ name: "X-TokenAuth", value: unset! }),
      /customHeader's value is not set/,
    ],
    ["apiKey, value empty", () => apiKey({ in: "header", name: "X-Api-Key", value: "" }), /apiKey's value is empty/],
    [
      "clientCredentials, secret unset",
      () => clientCredentials({ tokenUrl: "https://login.example.com/token", clientId: "app", clientSecret: unset! }),
      /clientCredentials' clientSecret is not set/,
    ],
    [
      "aadClientCredentials, secret empty",
      () =>
        aadClientCredentials({
          tenantId: "contoso.onmicrosoft.com",
          clientId: "app",
          clientSecret: "",
          scopes: ["api://ml/.default"],
        }),
      /aadClientCredentials' clientSecret is empty/,
    ],
  ];
  it.each(construction)("%s: ERR_INVALID_OPTION at construction, saying so", (_name, make, message) => {
    let thrown: unknown;
    try {
      make();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidOptionError);
    expect(thrown).toMatchObject({ code: "ERR_INVALID_OPTION" });
    expect((thrown as Error).message).toMatch(message);
    expect((thrown as Error).message).toMatch(/environment variable/);
  });

  it(
    "a credentials callback that gives no password: ERR_INVALID_OPTION at the first call, and nothing sent to " +
      "/login",
    async () => {
      server.resetCounters();
      const auth = mlServerLogin({ credentials: () => ({ username: "admin", password: unset! }) });
      const client = createMlServerClient({ baseUrl: server.url, auth });
      const failure = await client.GET("/status").catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(InvalidOptionError);
      expect((failure as Error).message).toMatch(
        /The password from mlServerLogin's credentials callback is not set \(undefined\)/,
      );
      expect(server.counters.logins + server.counters.failedLogins).toBe(0);
    },
  );

  it("a wrong password, by contrast, is the server's refusal", async () => {
    const auth = mlServerLogin({ username: "admin", password: "not-the-password" });
    const failure = await createMlServerClient({ baseUrl: server.url, auth })
      .GET("/status")
      .catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: "ERR_AUTHENTICATION_FAILED" });
  });
});
