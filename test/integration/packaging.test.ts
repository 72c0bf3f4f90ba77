import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { MsalNetwork } from "../../src/strategies/msal-network.js";
import { msalConfiguration, resolveAuthority, resolveScopes } from "../../src/strategies/msal-options.js";

const run = promisify(execFile);
const probe = resolve(import.meta.dirname, "../support/import-probe.mjs");

/** Module URLs resolved by importing the built package in a fresh process, then running `code`. */
async function loaded(code = ""): Promise<string[]> {
  // The source entry, through tsx, so the check is of the code as it is now, not of an old build.
  const { stdout } = await run(process.execPath, ["--import", "tsx", probe, resolve("src/index.ts"), code], {
    timeout: 30_000,
  });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as string[];
}

describe("dependencies stay where they belong", () => {
  it("importing the package loads neither msal-node nor simple-oauth2 (nor undici or the code generator)", async () => {
    const urls = await loaded();
    expect(urls.some((u) => u.includes("/openapi-fetch/"))).toBe(true);
    for (const heavy of [
      "@azure/msal-node",
      "simple-oauth2",
      "/undici/",
      "openapi-typescript",
      "swagger2openapi",
      "/typescript/",
    ]) {
      expect(urls.filter((u) => u.includes(heavy))).toEqual([]);
    }
  });

  it("creating strategies loads nothing either; their first token request does", async () => {
    const created = await loaded(`
      const secret = { clientId: "a", clientSecret: "s" };
      m.aadClientCredentials({ authority: "https://127.0.0.1:9/t", ...secret, resource: "api://x" });
      m.clientCredentials({ tokenUrl: "https://127.0.0.1:9/token", ...secret });`);
    expect(created.filter((u) => u.includes("@azure/msal-node") || u.includes("simple-oauth2"))).toEqual([]);
    const used = await loaded(`
      const secret = { clientId: "a", clientSecret: "s" };
      const auth = m.clientCredentials({ tokenUrl: "http://127.0.0.1:9/token", ...secret, maxAttempts: 1 });
      await m.createMlServerClient({ baseUrl: "http://127.0.0.1:9", auth }).GET("/status").catch(() => {});`);
    expect(used.some((u) => u.includes("simple-oauth2"))).toBe(true);
    expect(used.some((u) => u.includes("@azure/msal-node"))).toBe(false);
  });
});

describe("Azure AD defaults, and other OIDC authorities", () => {
  const network = new MsalNetwork({});
  it("uses Microsoft's authority in AAD mode by default", () => {
    const authority = resolveAuthority({ clientId: "x", tenantId: "contoso.onmicrosoft.com" }, "test");
    expect(authority.href).toBe("https://login.microsoftonline.com/contoso.onmicrosoft.com");
    const config = msalConfiguration({ clientId: "x" }, authority, network, {});
    expect(config.system).toMatchObject({ protocolMode: "AAD" });
    expect(config.auth).not.toHaveProperty("knownAuthorities");
    expect(resolveAuthority({ clientId: "x" }, "test", "organizations").pathname).toBe("/organizations");
  });
  it("treats any other authority as OIDC, and trusts it as a known authority", () => {
    const authority = resolveAuthority(
      { clientId: "x", authority: "https://keycloak.example.com:8443/realms/ml" },
      "test",
    );
    const config = msalConfiguration({ clientId: "x" }, authority, network, {});
    expect(config.system).toMatchObject({ protocolMode: "OIDC" });
    expect(config.auth.knownAuthorities).toEqual(["keycloak.example.com:8443"]);
    expect(config.auth.authority).toBe("https://keycloak.example.com:8443/realms/ml");
  });
  it("maps ML Server's resource (the web app id) to the .default scope, and checks its options", () => {
    expect(resolveScopes({ clientId: "x", resource: "api://mlserver-webapp/" }, "t")).toEqual([
      "api://mlserver-webapp/.default",
    ]);
    expect(() => resolveScopes({ clientId: "x" }, "t")).toThrow(/needs scopes .* or resource/);
    expect(() => resolveScopes({ clientId: "x", scopes: ["a"], resource: "b" }, "t")).toThrow(/not both/);
    expect(() => resolveAuthority({ clientId: "x", authority: "http://idp.example.com" }, "t")).toThrow(
      /must use https/,
    );
    expect(() => resolveAuthority({ clientId: "x" }, "t")).toThrow(/needs authority or tenantId/);
  });
});
