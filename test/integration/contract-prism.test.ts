import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../devserver/server.js";
import { createMlServerClient, mlServerLogin } from "../../src/index.js";
import { knownSpecError, startPrismProxy, KNOWN_SPEC_ERRORS, type Violation } from "../support/prism.js";
import { SPECS_DIR, describeWithSpecs } from "../support/specs.js";

describeWithSpecs("contract: the client and the dev server through Prism with Microsoft's 9.3.0 description", () => {
  let server: DevServer;
  let prism: Awaited<ReturnType<typeof startPrismProxy>>;
  const violations: (Violation & { operation: string })[] = [];
  const statuses: number[] = [];

  beforeAll(async () => {
    server = await startDevServer({ accessTokenSeconds: 1 });
    prism = await startPrismProxy(join(SPECS_DIR, "mlserver-swagger-9.3.0.json"), server.url);
  }, 180_000);
  afterAll(async () => {
    await prism?.stop();
    await server?.close();
  });

  it(
    "runs the login, renewal, 401 retry, services, sessions and revoke flow with no violation but the listed " + "ones",
    async () => {
      const recording: typeof fetch = async (input, init) => {
        const request = input as Request;
        const response = await fetch(input, init);
        const header = response.headers.get("sl-violations");
        const path = new URL(request.url).pathname.replace(/\/login\/refreshToken.*/, "/login/refreshToken");
        const operation = `${request.method} ${path}`;
        for (const v of header ? (JSON.parse(header) as Violation[]) : []) violations.push({ ...v, operation });
        statuses.push(response.status);
        return response;
      };
      const auth = mlServerLogin({ username: "admin", password: "Admin-Pa55word!" });
      const client = createMlServerClient({ baseUrl: prism.url, auth, fetch: recording });

      expect((await client.GET("/status")).response.status).toBe(200);
      const publish = await client.POST("/services/{name}/{version}", {
        params: { path: { name: "scorer", version: "1.0" } },
        body: {
          code: "y = x * 2",
          runtimeType: "Python",
          inputParameterDefinitions: [{ name: "x", type: "numeric" }],
          outputParameterDefinitions: [{ name: "y", type: "numeric" }],
        },
      });
      expect(publish.response.status).toBe(201);
      expect((await client.GET("/services")).data).toHaveLength(1);
      expect((await client.GET("/services/{name}", { params: { path: { name: "scorer" } } })).data).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 1000)); // the 1-second token is renewed on the next call
      expect(
        (await client.GET("/services/{name}/{version}", { params: { path: { name: "scorer", version: "1.0" } } }))
          .data?.[0]?.name,
      ).toBe("scorer");
      server.faults.push({ route: "PATCH /services/{name}/{version}", kind: "status", status: 401, times: 1 });
      expect(
        (
          await client.PATCH("/services/{name}/{version}", {
            params: { path: { name: "scorer", version: "1.0" } },
            body: { description: "doubles x" },
          })
        ).response.status,
      ).toBe(200);
      const session = await client.POST("/sessions", { body: { name: "work", runtimeType: "Python" } });
      expect(session.response.status).toBe(201);
      expect((await client.GET("/sessions")).data).toHaveLength(1);
      expect(
        (await client.GET("/sessions/{id}/workspace", { params: { path: { id: session.data!.sessionId! } } })).data,
      ).toEqual([]);
      expect(
        (await client.DELETE("/services/{name}/{version}", { params: { path: { name: "scorer", version: "1.0" } } }))
          .response.status,
      ).toBe(200);
      await auth.signOut();

      expect(server.counters).toMatchObject({ logins: 1, revokes: 1 });
      expect(server.counters.renewals).toBeGreaterThanOrEqual(2);
      expect(statuses.filter((s) => s >= 400 && s !== 401)).toEqual([]);

      expect(violations.filter((v) => !knownSpecError(v))).toEqual([]);
      for (const allowance of KNOWN_SPEC_ERRORS) {
        expect(
          violations.some((v) => knownSpecError(v) === allowance),
          `${String(allowance.location)} (${allowance.reason}) no longer occurs: remove it`,
        ).toBe(true);
      }
    },
  );

  it("Prism does report what breaks the description (the check can fail)", async () => {
    const response = await fetch(`${prism.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: 42 }),
    });
    const reported = JSON.parse(response.headers.get("sl-violations") ?? "[]") as Violation[];
    expect(reported.some((v) => v.location.join(".") === "request.body.username")).toBe(true);
  });
});
