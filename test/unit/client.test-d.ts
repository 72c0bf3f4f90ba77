import { describe, expectTypeOf, it } from "vitest";
import { createMlServerClient, type components } from "../../src/index.js";

const client = createMlServerClient({ baseUrl: "https://mlserver.example.com:12800" });

describe("the typed client", () => {
  it("types responses from the spec", async () => {
    const { data } = await client.GET("/status");
    expectTypeOf(data).toEqualTypeOf<components["schemas"]["StatusResponse"] | undefined>();
    const services = await client.GET("/services/{name}/{version}", { params: { path: { name: "a", version: "1" } } });
    expectTypeOf(services.data).toEqualTypeOf<components["schemas"]["WebService"][] | undefined>();
  });

  it("types token responses with expires_on as number or string", () => {
    expectTypeOf<components["schemas"]["AccessTokenResponse"]["expires_on"]>().toEqualTypeOf<
      number | string | undefined
    >();
    expectTypeOf<components["schemas"]["AccessTokenResponse"]["access_token"]>().toEqualTypeOf<string>();
  });

  it("rejects a wrong path", () => {
    // @ts-expect-error -- no such path in the spec
    void client.GET("/servicez");
    // @ts-expect-error -- /login is POST only
    void client.GET("/login");
  });

  it("rejects a missing path parameter", () => {
    // @ts-expect-error -- version is required
    void client.GET("/services/{name}/{version}", { params: { path: { name: "a" } } });
    // @ts-expect-error -- params are required altogether
    void client.DELETE("/sessions/{id}");
  });

  it("rejects a wrongly typed or missing body field", () => {
    void client.POST("/login", { body: { username: "admin", password: "secret" } });
    // @ts-expect-error -- password must be a string
    void client.POST("/login", { body: { username: "admin", password: 42 } });
    // @ts-expect-error -- password is required
    void client.POST("/login", { body: { username: "admin" } });
    void client.POST("/services/{name}/{version}", {
      params: { path: { name: "a", version: "1" } },
      // @ts-expect-error -- runtimeType is R or Python
      body: { code: "x", runtimeType: "Julia" },
    });
  });

  it("types binary bodies as Blob", () => {
    void client.POST("/realtime-services/{name}", {
      params: { path: { name: "m" } },
      body: { model: new Blob([new Uint8Array([1, 2])]) },
    });
    // @ts-expect-error -- the model part must be binary
    void client.POST("/realtime-services/{name}", { params: { path: { name: "m" } }, body: { model: 42 } });
  });
});

describe("aadBrowser takes msal-browser's own application", () => {
  it("a real PublicClientApplication fits MsalBrowserAppLike", () => {
    expectTypeOf<import("@azure/msal-browser").PublicClientApplication>().toExtend<
      import("../../src/index.js").MsalBrowserAppLike
    >();
  });
});
