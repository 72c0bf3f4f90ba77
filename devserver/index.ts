/**
 * `mlserver-client/devserver`: a server that behaves like ML Server 9.3 on loopback, for your own
 * tests. It validates every request against the project's OpenAPI description, issues and rotates
 * tokens like ML Server, runs Python and R web services and sessions (with `python3`, and `Rscript`
 * with jsonlite), and has fault injection and counters. Its own packages (ajv, ajv-formats, jose,
 * yaml) are optional peer dependencies of mlserver-client: install them where you use it, e.g. as
 * dev dependencies.
 *
 * @example
 * ```ts
 * import { afterAll, beforeAll, expect, it } from "vitest";
 * import { createMlServerClient, mlServerLogin } from "mlserver-client";
 * import { startDevServer, type DevServer } from "mlserver-client/devserver";
 *
 * let server: DevServer;
 * beforeAll(async () => void (server = await startDevServer({ accessTokenSeconds: 2 })));
 * afterAll(() => server.close());
 *
 * it("signs in once, however many calls", async () => {
 *   const client = createMlServerClient({
 *     baseUrl: server.url,
 *     auth: mlServerLogin({ username: "admin", password: "Admin-Pa55word!" }),
 *   });
 *   await Promise.all([client.GET("/status"), client.GET("/services")]);
 *   expect(server.counters.logins).toBe(1);
 * });
 * ```
 *
 * @module
 */
import { MissingDependencyError, isModuleNotFound } from "../src/core/errors.js";
import type { DevServer, DevServerOptions } from "./types.js";

export type {
  Counters,
  DevServer,
  DevServerOptions,
  DevUser,
  ExecutionLimits,
  Fault,
  RecordedRequest,
  WebService,
} from "./types.js";
export type { CorsSettings } from "./http/cors.js";
export type { DevSession, DevSnapshot } from "./sessions.js";
export type { IssuedTokens, TokenAuthority, TokenLifetimes } from "./tokens.js";

/** The optional packages the dev server needs. */
export const DEVSERVER_PACKAGES = ["ajv", "ajv-formats", "jose", "yaml"] as const;

/**
 * Starts the dev server on 127.0.0.1 (a free port unless `port` is given) and resolves once it
 * listens; `close()` stops it. Rejects with `ERR_OPTIONAL_DEPENDENCY_MISSING`, naming the command
 * to run, when its optional packages are not installed.
 *
 * @example
 * ```ts
 * const server = await startDevServer({
 *   accessTokenSeconds: 60,
 *   users: [{ username: "alice", password: "Alice-Pa55" }],
 * });
 * console.log(server.url); // http://127.0.0.1:41234
 * await server.close();
 * ```
 */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  let server: typeof import("./server.js");
  try {
    server = await import("./server.js");
  } catch (error) {
    if (DEVSERVER_PACKAGES.some((name) => isModuleNotFound(error, name)))
      throw new MissingDependencyError("The dev server", DEVSERVER_PACKAGES, error);
    throw error;
  }
  return server.startDevServer(options);
}
