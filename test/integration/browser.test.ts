// The client in the browser: the package's browser build bundled by esbuild and Vite as a web app
// would bundle it, its size measured against openapi-fetch's, and the example page driven in real
// Chromium (Debian's package) against dev servers that allow its origin, and one that does not.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { build as esbuild } from "esbuild";
import { chromium, type Browser, type Page } from "playwright-core";
import { build as viteBuild } from "vite";
import webpack from "webpack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../devserver/server.js";
import { createMlServerClient, mlServerLogin, publishService } from "../../src/index.js";
import { describeWithProgram } from "../support/daemons.js";
import { installPacked, root } from "../support/packed.js";
import { tempDir } from "../support/tmp.js";

const CHROMIUM = "/usr/bin/chromium";
/** Screenshots of the page, kept as test artefacts (never in git). */
const ARTEFACTS = join(root, ".tmp/artifacts");

const NODE_ONLY = /\bnode:[a-z]|from ?"undici"|import\("undici"\)|\bprocess\.env\b/;

describe("the browser build, as a web app's bundler sees it (from the packed package)", () => {
  let project: string;
  beforeAll(async () => {
    ({ project } = await installPacked(await tempDir("mlserver-client-browser-")));
  }, 240_000);

  const app = `import { createMlServerClient, mlServerLogin } from "mlserver-client";
const auth = mlServerLogin({ username: "u", password: "p" });
export const client = createMlServerClient({ baseUrl: location.origin, auth });\n`;

  const bundle = async (source: string, name: string) => {
    writeFileSync(join(project, name), source);
    const result = await esbuild({
      entryPoints: [join(project, name)],
      absWorkingDir: project,
      bundle: true,
      minify: true,
      platform: "browser",
      format: "esm",
      write: false,
      logLevel: "silent",
    });
    return result.outputFiles[0]!.text;
  };

  it("esbuild (platform browser) bundles it with no Node built-in, undici or process access", async () => {
    const code = await bundle(app, "app.js");
    expect(code).not.toMatch(NODE_ONLY);
    expect(code).toContain("mlserver-client"); // the strategies' names are in it: it is our code, not an empty shell
  });

  it("Vite bundles it too, with the same result", async () => {
    writeFileSync(join(project, "index.html"), '<script type="module" src="./app.js"></script>');
    writeFileSync(join(project, "app.js"), app);
    const output = (await viteBuild({ root: project, logLevel: "silent", build: { write: false, minify: true } })) as
      | { output: { type: string; code?: string }[] }[]
      | { output: { type: string; code?: string }[] };
    const chunks = (Array.isArray(output) ? output : [output])
      .flatMap((o) => o.output)
      .filter((c) => c.type === "chunk");
    const code = chunks.map((c) => c.code).join("\n");
    expect(code.length).toBeGreaterThan(10_000);
    expect(code).not.toMatch(NODE_ONLY);
  });

  it("webpack 5 (target web, production) bundles it too, with no Node polyfill configured", async () => {
    writeFileSync(join(project, "app-webpack.js"), app);
    const out = join(project, "webpack-out");
    const stats = await new Promise<webpack.Stats>((resolve, reject) =>
      webpack(
        {
          mode: "production",
          target: "web",
          context: project,
          entry: "./app-webpack.js",
          output: { path: out, filename: "bundle.js" },
          performance: { hints: false },
        },
        (error, result) => (error ? reject(error) : resolve(result!)),
      ),
    );
    expect(stats.compilation.errors.map((e) => e.message)).toEqual([]);
    expect(stats.compilation.warnings.map((w) => w.message)).toEqual([]);
    const code = readFileSync(join(out, "bundle.js"), "utf8");
    expect(code.length).toBeGreaterThan(10_000);
    expect(code).not.toMatch(NODE_ONLY);
  });

  it(
    "size: the client with mlServerLogin, minified and gzipped, with and without the optional layers, against " +
      "openapi-fetch's own",
    async () => {
      const gz = async (source: string, name: string) => gzipSync(await bundle(source, name), { level: 9 }).length;
      const ours = await gz(app, "size-ours.js");
      // Retries and tracing are in the bundle only when the page asks for them.
      const withLayers = await gz(
        `import { createMlServerClient, mlServerLogin, retries, openTelemetry } from "mlserver-client";
const auth = mlServerLogin({ username: "u", password: "p" });
export const client = createMlServerClient({
  baseUrl: location.origin, auth, retry: retries(), tracing: openTelemetry(globalThis.otel),
});\n`,
        "size-layers.js",
      );
      const openapiFetch = await gz(
        'import createClient from "openapi-fetch";\nexport const client = createClient({ baseUrl: ' +
          "location.origin });\n",
        "size-openapi-fetch.js",
      );
      const ratio = ours / openapiFetch;
      console.log(
        `browser bundle, minified + gzipped: client + mlServerLogin ${ours} B, with retries and tracing ` +
          `${withLayers} B, openapi-fetch alone ${openapiFetch} B: ${ratio.toFixed(2)}x`,
      );
      mkdirSync(ARTEFACTS, { recursive: true });
      writeFileSync(
        join(ARTEFACTS, "browser-bundle-size.json"),
        JSON.stringify({ ours, withLayers, openapiFetch, ratio }, null, 2),
      );
      expect(withLayers - ours).toBeGreaterThan(1000);
      // The goal of 11 KB is not met (see docs/browser.md); these budgets keep the sizes from growing unnoticed.
      // Raised from 14,600 / 16,200 by about 1.1 KB for the store's failover handling (a peer's
      // renewal waited for, an unsaved set written back), real requests for middleware, and the
      // checks of required secrets; then by 0.3 KB for the one token builder every strategy shares;
      // then by 0.5 KB for the pipeline's named policies over one record of the call (a body copied
      // at most once) and mlServerLogin's protocol steps in a module of their own; then by 0.3 KB
      // for layers each client holds (retries, tracing and the token spans given by bind) in place
      // of process-wide registries; then by 0.3 KB for one Request class per client and the
      // client's own middleware kept last by use (a call without options then has no options to
      // copy: 8-21% less CPU per call).
      expect(ours).toBeLessThan(16_900);
      expect(withLayers).toBeLessThan(18_500);
    },
  );

  it("a Node-only strategy imported there is a clear error when called, not a crash deep inside", async () => {
    const browserBuild = (await import(
      join(project, "node_modules/mlserver-client/dist/bundle/browser/index.js")
    )) as typeof import("../../src/browser.js");
    expect(() => browserBuild.aadDeviceCode()).toThrow(
      expect.objectContaining({
        code: "ERR_UNSUPPORTED_PLATFORM",
        message: expect.stringMatching(/aadDeviceCode .* needs Node .* use aadBrowser/),
      }),
    );
    expect(() => browserBuild.clientCredentials()).toThrow(
      expect.objectContaining({
        code: "ERR_UNSUPPORTED_PLATFORM",
        message: expect.stringMatching(/client secret must never reach a browser/),
      }),
    );
    expect(() => browserBuild.createMlServerClient({ baseUrl: "https://ml.example.com", ca: "PEM" })).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_OPTION", message: expect.stringMatching(/^ca is a Node option/) }),
    );
  });

  it("retries and tracing belong to each client: the layer values turn them on, plain forms are refused", async () => {
    const browserBuild = (await import(
      join(project, "node_modules/mlserver-client/dist/bundle/browser/index.js")
    )) as typeof import("../../src/browser.js");
    // A server whose every other answer is a 503: a client that retries gets the 200 after it.
    let calls = 0;
    const server = createServer((_request, response) => {
      calls += 1;
      response.writeHead(calls % 2 === 1 ? 503 : 200, { "content-type": "application/json" }).end("[]");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const { createMlServerClient: create, retries } = browserBuild;
      const retrying = create({ baseUrl, retry: retries({ baseDelayMs: 1 }) });
      const plain = create({ baseUrl });
      expect((await retrying.GET("/services")).response.status).toBe(200);
      expect(calls).toBe(2);
      // Made from the same module after it, a client without retries still has none.
      expect((await plain.GET("/services")).response.status).toBe(503);
      expect(calls).toBe(3);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(() => browserBuild.createMlServerClient({ baseUrl, retry: { retries: 2 } })).toThrow(
      expect.objectContaining({
        code: "ERR_INVALID_OPTION",
        message: expect.stringMatching(/retry: retries\(options\)/),
      }),
    );
    expect(() => browserBuild.createMlServerClient({ baseUrl, tracing: true })).toThrow(
      expect.objectContaining({
        code: "ERR_INVALID_OPTION",
        message: expect.stringMatching(/tracing: openTelemetry\(otel\)/),
      }),
    );
    expect(() => browserBuild.createMlServerClient({ baseUrl, retry: false, tracing: false })).not.toThrow();
  });
});

/** Serves a folder on a loopback port: the page's own origin, apart from the API's. */
async function serveStatic(dir: string): Promise<{ origin: string; close(): Promise<void> }> {
  const types: Record<string, string> = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript",
    ".css": "text/css",
    ".map": "application/json",
  };
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    try {
      const file = join(dir, path === "/" ? "index.html" : path.replace(/\.\.+/g, ""));
      const body = readFileSync(file);
      res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

describeWithProgram(CHROMIUM, "the example app in headless Chromium", () => {
  let site: Awaited<ReturnType<typeof serveStatic>>;
  let browser: Browser;
  let allowed: DevServer;
  let refusing: DevServer;

  beforeAll(async () => {
    const out = await tempDir("mlserver-client-page-");
    await viteBuild({
      configFile: join(root, "examples/browser/vite.config.ts"),
      build: { outDir: out, emptyOutDir: true },
      logLevel: "silent",
    });
    // The whole browser build as one module beside the page, for tests of the other strategies.
    await esbuild({
      stdin: {
        contents: `export * from ${JSON.stringify(join(root, "dist/bundle/browser/index.js"))};`,
        resolveDir: root,
      },
      bundle: true,
      format: "esm",
      platform: "browser",
      outfile: join(out, "lib.js"),
      logLevel: "silent",
    });
    site = await serveStatic(out);
    allowed = await startDevServer({ accessTokenSeconds: 3, cors: { enabled: true, origins: [site.origin] } });
    refusing = await startDevServer({ cors: { enabled: true, origins: ["https://app.contoso.com"] } });
    const admin = createMlServerClient({
      baseUrl: allowed.url,
      auth: mlServerLogin({ username: "admin", password: "Admin-Pa55word!" }),
    });
    await publishService(admin, {
      name: "double",
      version: "1.0",
      code: "y = x * 2",
      inputs: { x: "numeric" },
      outputs: { y: "numeric" },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
    mkdirSync(ARTEFACTS, { recursive: true });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await Promise.all([site?.close(), allowed?.close(), refusing?.close()]);
  });

  async function open(api: DevServer, { remember = false } = {}): Promise<Page> {
    const page = await browser.newPage();
    page.on("pageerror", (error) => console.error("page error:", error.message));
    await page.goto(`${site.origin}/?api=${encodeURIComponent(api.url)}`);
    await page.fill("input[name=password]", "Admin-Pa55word!");
    if (remember) await page.check("input[name=remember]");
    await page.click("#sign-in button");
    return page;
  }

  it(
    "signs in, lists the services, consumes one, sees the result, signs out (revoking the refresh " + "token)",
    async () => {
      allowed.resetCounters();
      const page = await open(allowed);
      await page.waitForSelector("#services li");
      expect(await page.textContent("#services")).toContain("double 1.0 (Python)");
      await page.fill("input[name=inputs]", '{"x": 21}');
      await page.click("#consume button");
      await page.waitForFunction(() => document.querySelector("#result")?.textContent?.includes('"y": 42'));
      await page.screenshot({ path: join(ARTEFACTS, "browser-example.png"), fullPage: true });
      await page.click("#sign-out");
      await page.waitForFunction(() =>
        document.querySelector("#status")?.textContent?.startsWith("Signed out: the refresh token was revoked"),
      );
      expect(allowed.counters).toMatchObject({ logins: 1, revokes: 1, executions: 1, unauthorized: 0 });
      expect(await page.textContent("#error")).toBe("");
      await page.close();
    },
  );

  it(
    "the token cycle in the page: one renewal for 30 concurrent calls after expiry, and one resend after " + "a 401",
    async () => {
      const page = await open(allowed);
      await page.waitForSelector("#services li");
      allowed.resetCounters();
      await page.waitForTimeout(3100); // the 3-second access token expires
      const statuses = await page.evaluate(async () => {
        const { client } = (
          globalThis as unknown as { demo: { client: { GET(path: string): Promise<{ response: Response }> } } }
        ).demo;
        return Promise.all(Array.from({ length: 30 }, async () => (await client.GET("/status")).response.status));
      });
      expect(statuses).toEqual(Array(30).fill(200));
      expect(allowed.counters).toMatchObject({ logins: 0, renewals: 1, unauthorized: 0 });

      allowed.faults.push({ route: "GET /status", kind: "status", status: 401, times: 1 });
      const seen = allowed.requests.length;
      const status = await page.evaluate(
        async () =>
          (
            await (
              globalThis as unknown as { demo: { client: { GET(path: string): Promise<{ response: Response }> } } }
            ).demo.client.GET("/status")
          ).response.status,
      );
      expect(status).toBe(200);
      // The refused call, a renewal, and the one resend.
      expect(allowed.requests.slice(seen).map((r) => `${r.route} ${r.status}`)).toEqual([
        "GET /status 401",
        "POST /login/refreshToken 200",
        "GET /status 200",
      ]);
      await page.close();
    },
  );

  it(
    "opting into sessionStorage: a reload keeps the session without a sign-in, sign-out clears it, " +
      "localStorage is never used",
    async () => {
      allowed.resetCounters();
      const page = await open(allowed, { remember: true });
      await page.waitForSelector("#services li");
      const stored = () =>
        page.evaluate(() => ({
          session: Object.keys(sessionStorage).filter((k) => k.startsWith("mlserver-client:")).length,
          local: localStorage.length,
        }));
      expect(await stored()).toEqual({ session: 1, local: 0 });
      await page.reload();
      await page.waitForSelector("#services li");
      expect(await page.textContent("#status")).toBe("Signed in as admin");
      expect(allowed.counters).toMatchObject({ logins: 1, failedLogins: 0 });
      await page.click("#sign-out");
      await page.waitForFunction(() => document.querySelector("#status")?.textContent?.startsWith("Signed out"));
      expect(await stored()).toEqual({ session: 0, local: 0 });
      expect(allowed.counters.revokes).toBe(1);
      await page.close();
    },
  );

  it(
    "bearer and fromTokenCredential work in the page too, with the same cycle (one getToken for 20 " + "calls)",
    async () => {
      const login = await fetch(`${allowed.url}/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "admin", password: "Admin-Pa55word!" }),
      });
      const token = ((await login.json()) as { access_token: string }).access_token;
      const page = await browser.newPage();
      await page.goto(`${site.origin}/`);
      // A module script of the page's own loads the library (a dynamic import in this file would be vitest's).
      await page.addScriptTag({ type: "module", content: 'import * as lib from "/lib.js"; globalThis.lib = lib;' });
      await page.waitForFunction(() => "lib" in globalThis);
      const result = await page.evaluate(
        async ({ api, token }) => {
          const lib = (globalThis as unknown as { lib: typeof import("../../src/browser.js") }).lib;
          const viaBearer = lib.createMlServerClient({ baseUrl: api, auth: lib.bearer(token) });
          let getTokenCalls = 0;
          const credential = {
            async getToken() {
              getTokenCalls++;
              return { token, expiresOnTimestamp: Date.now() + 60_000 };
            },
          };
          const viaCredential = lib.createMlServerClient({
            baseUrl: api,
            auth: lib.fromTokenCredential(credential, ["api://mlserver/.default"]),
          });
          const statuses = await Promise.all([
            (await viaBearer.GET("/status")).response.status,
            ...(await Promise.all(
              Array.from({ length: 20 }, async () => (await viaCredential.GET("/status")).response.status),
            )),
          ]);
          let unsupported = "";
          try {
            lib.aadDeviceCode();
          } catch (error) {
            unsupported = (error as { code: string }).code;
          }
          return { statuses, getTokenCalls, unsupported };
        },
        { api: allowed.url, token },
      );
      expect(result).toEqual({
        statuses: Array(21).fill(200),
        getTokenCalls: 1,
        unsupported: "ERR_UNSUPPORTED_PLATFORM",
      });
      await page.close();
    },
  );

  it("against a server that does not allow the page's origin, the page shows a clear error naming CORS", async () => {
    const page = await open(refusing);
    await page.waitForFunction(() => (document.querySelector("#error")?.textContent ?? "") !== "");
    const error = await page.textContent("#error");
    // The sign-in is a token call: its typed error, with the browser's likely causes as the reason.
    expect(error).toMatch(
      /^ERR_TOKEN_ENDPOINT_UNAVAILABLE: POST \/login at http:\/\/127\.0\.0\.1:\d+ could not be reached /,
    );
    expect(error).toMatch(/\(the browser did not complete it: .*does not allow this page's origin \(CORS/);
    expect(error).not.toContain("Admin-Pa55word!");
    await page.screenshot({ path: join(ARTEFACTS, "browser-example-refused.png"), fullPage: true });
    expect(refusing.counters.logins).toBe(0);
    await page.close();
  });
});
