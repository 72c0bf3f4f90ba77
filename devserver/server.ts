/**
 * A development stand-in for an ML Server web node: real HTTP on loopback, ML Server's documented
 * token semantics, every request validated against `openapi/mlserver.yaml`, Python services in warm
 * shells, and fault injection and counters for tests. Not a production server and not a sandbox:
 * it listens on loopback only and serves only requests addressed to it by a loopback name.
 *
 * A request goes through these steps, in order: the Host check, the counters route, routing,
 * the size cap, CORS preflight, injected faults, the token (before the body is read), the body
 * (capped, nesting-limited), validation against the description, and the area's handler.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { HttpError } from "./http-error.js";
import { MAX_BODY, drainUnread, parseJson, readBody } from "./http/body.js";
import { caller } from "./http/caller.js";
import { corsHeaders, isPreflight, PREFLIGHT_HEADERS } from "./http/cors.js";
import { isCountersRoute, serveCounters } from "./http/counters-route.js";
import { Exchange } from "./http/exchange.js";
import { takeFault } from "./http/faults.js";
import { hostAllowed } from "./http/host.js";
import { computeNodeRoutes } from "./routes/compute-nodes.js";
import { consumptionRoutes, matchConsumption } from "./routes/consumption.js";
import { loginRoutes } from "./routes/login.js";
import { poolRoutes } from "./routes/pools.js";
import type { RouteContext, RouteTable } from "./routes/route.js";
import { serviceRoutes } from "./routes/services.js";
import { sessionRoutes } from "./routes/sessions.js";
import { snapshotRoutes } from "./routes/snapshots.js";
import { statusRoutes } from "./routes/status.js";
import { createState, type DevState } from "./state.js";
import type { DevServer, DevServerOptions } from "./types.js";
import { loadOperations, type Operation } from "./validate.js";

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
export { COUNTERS_ROUTE } from "./types.js";

const ROUTES: RouteTable = {
  ...loginRoutes,
  ...statusRoutes,
  ...serviceRoutes,
  ...consumptionRoutes,
  ...sessionRoutes,
  ...snapshotRoutes,
  ...poolRoutes,
  ...computeNodeRoutes,
};

const UNAUTHORIZED = "Unauthorized: the access token is missing, expired or revoked";

/** Where a request goes: an operation of the description, the legacy revoke, or a service's consumption path. */
interface Target {
  operationId: string;
  params: Record<string, string>;
  /** Whether the caller must present a token. */
  secured: boolean;
  /** The operation of the description, when the request is validated against one. */
  operation?: Operation;
}

function findTarget(state: DevState, method: string, pathname: string): Target | null | undefined {
  for (const op of state.operations) {
    if (op.method !== method) continue;
    const params = op.match(pathname);
    if (params) return { operationId: op.operationId, params, secured: op.security.length > 0, operation: op };
  }
  if (state.options.legacyRevokePath && method === "DELETE") {
    const legacy = /^\/login\/refreshToken\/([^/]+)$/.exec(pathname);
    if (legacy)
      return {
        operationId: "revokeRefreshTokenInPath",
        params: { refreshToken: decodeURIComponent(legacy[1]!) },
        secured: false,
      };
  }
  const consumption = matchConsumption(method, pathname);
  return consumption && { ...consumption, secured: true };
}

/** The route as recorded: a template, never a raw path (a raw path may hold a token). */
function routeName(method: string, pathname: string, target: Target | null | undefined): string {
  if (target?.operation) return `${target.operation.method} ${target.operation.template}`;
  if (pathname.startsWith("/login/refreshToken/")) return `${method} /login/refreshToken/{refreshToken}`;
  if (pathname.startsWith("/api/")) {
    const match = /^\/api\/[^/]+\/[^/]+(\/batch)?(\/[^/]+)?/.exec(pathname);
    if (!match) return `${method} ${pathname}`;
    const [, batch, id] = match;
    return `${method} /api/{name}/{version}${batch ?? ""}${id ? "/{executionId}" : ""}`;
  }
  return `${method} (no such operation)`;
}

const isJson = (mediaType: string) => mediaType === "application/json" || mediaType.endsWith("+json");

async function handle(state: DevState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!hostAllowed(req, state.server.port, state.options.allowedHosts ?? [])) {
    const text = JSON.stringify({
      message:
        "this dev server answers only requests addressed to it by a loopback name (127.0.0.1, localhost, [::1]) " +
        "or a name in allowedHosts (--allowed-host)",
      exceptionType: "MisdirectedRequestException",
    });
    res.writeHead(421, {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(text),
    });
    res.end(text);
    if (!req.complete) drainUnread(req);
    return;
  }
  if (isCountersRoute(req.url)) return serveCounters(state, req, res);
  state.server.counters.requests++;
  const method = req.method ?? "GET";
  const url = new URL(req.url ?? "/", state.server.url);
  let target: Target | null | undefined;
  try {
    target = findTarget(state, method, url.pathname);
  } catch {
    target = undefined; // a malformed percent-encoding: answered below as a bad request
  }
  const exchange = new Exchange(
    req,
    res,
    state,
    routeName(method, url.pathname, target),
    target?.secured === true && target.operation !== undefined,
    corsHeaders(req, state.options.cors),
  );
  const tooLarge = () =>
    exchange.refuseUnread(
      413,
      `the request body is larger than the ${MAX_BODY}-byte limit`,
      "RequestValidationException",
    );
  if (Number(req.headers["content-length"] ?? 0) > MAX_BODY) return tooLarge();

  if (isPreflight(req, state.options.cors)) {
    // A preflight: allowed origins learn what they may send; others get no CORS header at all.
    if (!corsHeaders(req, state.options.cors)["access-control-allow-origin"])
      return exchange.fail(403, "this origin is not allowed by the server's CORS settings", "CorsException");
    return exchange.send(204, undefined, PREFLIGHT_HEADERS);
  }

  const fault = takeFault(state.server.faults, routeName(method, url.pathname, target));
  if (fault) {
    state.server.counters.faultsInjected++;
    if (fault.kind === "drop") return void req.socket.destroy();
    if (fault.kind === "delay") await new Promise((r) => setTimeout(r, fault.delayMs ?? 1000));
    if (fault.kind === "status" || (fault.kind === "delay" && fault.status !== undefined))
      return exchange.send(
        fault.status ?? 500,
        { message: "injected fault", exceptionType: "DevServerException" },
        { ...fault.headers },
      );
  }
  if (!target) {
    if (/%(?![0-9a-f]{2})/i.test(url.pathname))
      return exchange.refuseUnread(400, "the path holds a malformed percent-encoding", "RequestValidationException");
    const allowed = state.operations.filter((op) => op.match(url.pathname)).map((op) => op.method);
    // The path exists with other methods: 405, saying which (RFC 9110 section 15.5.6).
    if (allowed.length > 0)
      return exchange.send(
        405,
        {
          message: `${method} is not an operation of this path; it takes ${allowed.join(", ")}`,
          exceptionType: "MethodNotAllowedException",
        },
        { allow: allowed.join(", ") },
      );
    // The path is not echoed: an unknown path may hold a token (a revoke in a form not served).
    return exchange.refuseUnread(404, `no operation ${method} on this path`, "NotFoundException");
  }

  // The token is checked before the body is read: a caller without one makes the server read nothing.
  let user = "";
  if (target.secured) {
    const verified = await caller(state, req);
    if (!verified) return exchange.refuseUnread(401, UNAUTHORIZED, "UnauthorizedAccessException");
    user = verified;
  }
  const raw = await readBody(req);
  if (!raw) return tooLarge();

  try {
    const contentType = req.headers["content-type"] ?? "";
    // Media types are case-insensitive (RFC 9110 section 8.3.1); their parameters may not be.
    const mediaType = contentType.split(";")[0]!.trim().toLowerCase();
    // A service's consumption calls take JSON whatever the content type says, as ML Server's do.
    let body: unknown;
    try {
      body = raw.length > 0 && (isJson(mediaType) || !target.operation) ? parseJson(raw) : undefined;
    } catch (error) {
      state.server.counters.validationFailures++;
      throw error;
    }
    let form: FormData | undefined;
    if (mediaType === "multipart/form-data") {
      try {
        form = await new Request("http://form.invalid/", {
          method: "POST",
          headers: { "content-type": contentType },
          body: raw,
        }).formData();
      } catch {
        return exchange.fail(400, "the multipart body could not be parsed", "RequestValidationException");
      }
    }
    const violations = target.operation?.validate({ query: url.searchParams, contentType, body: raw, form }) ?? [];
    if (violations.length > 0) {
      state.server.counters.validationFailures++;
      return exchange.fail(
        400,
        `The request does not match the API description: ${violations.join("; ")}`,
        "RequestValidationException",
      );
    }
    const handler = ROUTES[target.operationId];
    if (!handler)
      return exchange.fail(
        501,
        `${target.operationId} is not implemented by the dev server`,
        "NotImplementedException",
      );
    const context: RouteContext = {
      state,
      params: target.params,
      query: url.searchParams,
      body: body as RouteContext["body"],
      form,
      raw,
      user,
      base: state.server.url,
    };
    const [status, payload] = await handler(context);
    exchange.send(status, target.operation ? target.operation.complete(status, payload) : payload);
  } catch (error) {
    if (error instanceof HttpError)
      return exchange.fail(error.status, error.message, error.exceptionType, error.headers);
    throw error;
  }
}

/**
 * The project's description, found by walking up from this file: beside the sources (`devserver/`),
 * the build (`dist/devserver/`) or the bundle (`dist/bundle/chunks/`).
 */
function bundledSpec(): string {
  for (let dir = import.meta.dirname, i = 0; i < 5; dir = dirname(dir), i++) {
    const candidate = resolve(dir, "openapi/mlserver.yaml");
    if (existsSync(candidate)) return candidate;
  }
  return resolve(import.meta.dirname, "../openapi/mlserver.yaml");
}

/**
 * Starts the dev server on a free loopback port.
 *
 * @example
 * ```ts
 * const server = await startDevServer({ accessTokenSeconds: 2 });
 * const client = createMlServerClient({
 *   baseUrl: server.url,
 *   auth: mlServerLogin({ username: "admin", password: "Admin-Pa55word!" }),
 * });
 * ```
 */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const state = createState(options, loadOperations(options.spec ?? bundledSpec()));
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(state, req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            message: `dev server error: ${(error as Error).message}`,
            exceptionType: "InternalServerError",
          }),
        );
      }
    });
  };
  // Slow clients cost nothing: headers within 10 s, the whole request within 60 s, checked each second.
  const headersTimeout = options.httpTimeouts?.headersMs ?? 10_000;
  const requestTimeout = Math.max(options.httpTimeouts?.requestMs ?? 60_000, headersTimeout);
  const timeouts = { headersTimeout, requestTimeout, connectionsCheckingInterval: Math.min(1000, headersTimeout) };
  const server = options.tls
    ? createHttpsServer({ ...options.tls, ...timeouts }, listener)
    : createServer(timeouts, listener);
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolvePromise, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolvePromise());
  });
  const view = state.server;
  view.port = (server.address() as AddressInfo).port;
  view.url = `${options.tls ? "https" : "http"}://127.0.0.1:${view.port}`;
  view.close = async () => {
    for (const batch of state.batches.values()) batch.cancel.abort();
    await Promise.all([
      new Promise<void>((resolvePromise) => {
        server.close(() => resolvePromise());
        server.closeAllConnections();
      }),
      state.sessions.closeAll(),
      ...[...state.pools.values()].map((pool) => pool.close()),
    ]);
  };
  return view;
}
