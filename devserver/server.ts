/**
 * A development stand-in for an ML Server web node: real HTTP on loopback, ML Server's documented
 * token semantics, web service metadata in memory, every request validated against
 * `openapi/mlserver.yaml`, and fault injection and counters for tests. Not a production server and
 * not a sandbox: it listens on loopback only.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { createHash, randomUUID } from "node:crypto";
import { availableParallelism } from "node:os";
import { createRemoteJWKSet, customFetch, jwtVerify } from "jose";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { HttpError } from "./http-error.js";
import { inputProblems } from "./parameters.js";
import { runPython, type ExecutionResult } from "./python-runner.js";
import { serviceSwagger, type ParameterDefinition } from "./service-swagger.js";
import { SessionHost, type DevSession, type DevSnapshot } from "./sessions.js";
import { TokenAuthority, type TokenLifetimes } from "./tokens.js";
import { loadOperations, type Operation } from "./validate.js";

/** An account that can sign in to the dev server. */
export interface DevUser {
  username: string;
  password: string;
  /** This user's access token lifetime, if not the server's (e.g. a long-lived baseline in benchmarks). */
  accessTokenSeconds?: number;
  /** Whether the account has ML Server's admin role (needed to change compute nodes); default: only `admin`. */
  admin?: boolean;
}

/** A fault to inject on matching requests, before anything else happens to them. */
export interface Fault {
  /** `METHOD /path/template` as in the spec (e.g. `POST /login/refreshToken`), or `*` for all. */
  route: string;
  /** Answer with `status`; wait `delayMs` first; or drop the connection without answering. */
  kind: "status" | "delay" | "drop";
  status?: number;
  delayMs?: number;
  /** How many requests it affects before it is used up (default: all). */
  times?: number;
  /** Headers of a `status` answer, e.g. `{ "retry-after": "1" }`. */
  headers?: Record<string, string>;
}

/** Options of `startDevServer`; every one has a default. */
export interface DevServerOptions extends Partial<TokenLifetimes> {
  /** Accounts that can sign in (default: `admin` with password `Admin-Pa55word!`). */
  users?: DevUser[];
  /** Default 0: a free port. */
  port?: number;
  faults?: Fault[];
  /** Milliseconds since the epoch; inject to test long spans such as the 90-day cap. */
  clock?: () => number;
  /** The OpenAPI description requests are validated against (default: the project's). */
  spec?: string;
  /** Also accept revoke in the path form of 2017-era servers: `DELETE /login/refreshToken/{token}`. */
  legacyRevokePath?: boolean;
  /**
   * Also accept Azure AD tokens, as ML Server does with its `AzureActiveDirectory` settings: JWTs
   * from `issuer` (ML Server's `Authority`) for `audience` (its `Audience`), verified against the
   * issuer's JWKS, with expiry checked.
   */
  azureActiveDirectory?: { issuer: string; audience: string; jwksUri: string; ca?: string };
  /** `strict`: a sign-in or renewal ends the user's other sessions (see TokenAuthority); default `per-pair`. */
  sessionMode?: "per-pair" | "strict";
  /** Serve HTTPS with this key and certificate (PEM) instead of plain HTTP. */
  tls?: { key: string; cert: string };
  /** Resource limits; every one has a default, listed in the README's dev server section. */
  executionLimits?: ExecutionLimits;
  /**
   * CORS as ML Server's `appsettings.json` has it (`"CORS": { "Enabled": true, "Origins": [...] }`),
   * for browser apps on other origins: preflights answered and `Access-Control-Allow-Origin` sent
   * for the listed origins only (exact `scheme://host:port`, or `*` for any); nothing for others.
   */
  cors?: { enabled?: boolean; origins: string[] };
}

/** What a preflight allows: the API's methods, and the headers its calls carry. */
const CORS_METHODS = "GET, POST, PUT, PATCH, DELETE";
const CORS_HEADERS = "Authorization, Content-Type";

/** What one run, one batch and all sessions together may use. */
export interface ExecutionLimits {
  /** Per run (a service call, a batch item, a session's execute): default 10 s. */
  timeMs?: number;
  /** Console output per run, stdout and stderr together: default 1 MiB. */
  outputBytes?: number;
  /** The most runs of one batch at a time; a larger `parallelCount` is lowered to it. Default: the CPU count. */
  parallelCount?: number;
  /** Open sessions, all users together: default 32. */
  sessions?: number;
  /** Snapshots kept, all users together: default 64; each archive at most `snapshotBytes` (default 64 MiB). */
  snapshots?: number;
  snapshotBytes?: number;
}

/** The dev server's own route for its counters (see `countersRoute`). */
export const COUNTERS_ROUTE = "/_devserver/counters";

/** What the dev server has seen and done, for tests to assert on (reset with `resetCounters()`). */
export interface Counters {
  requests: number;
  logins: number;
  failedLogins: number;
  renewals: number;
  failedRenewals: number;
  revokes: number;
  /** Every 401 the server sent. */
  unauthorized: number;
  /** 401s on API calls (not token calls): a token that was expired, rotated or revoked. */
  unauthorizedApiCalls: number;
  /** API calls authorized by an Azure AD token. */
  azureAdCalls: number;
  /** Service runs (one per consume call or batch item). */
  executions: number;
  validationFailures: number;
  faultsInjected: number;
}

/** What the server saw of a request (no credentials are kept). */
export interface RecordedRequest {
  method: string;
  route: string;
  hadAuthorization: boolean;
  status: number;
}

/** A running dev server. */
export interface DevServer {
  /** e.g. `http://127.0.0.1:41234` */
  url: string;
  port: number;
  counters: Counters;
  /** Mutable: push or splice faults while the server runs. */
  faults: Fault[];
  /** The most recent requests (up to 10,000). */
  requests: RecordedRequest[];
  authority: TokenAuthority;
  /** Published services by name and version, with what the server stored (e.g. a realtime model's digest). */
  services: Map<string, WebService>;
  /** Open sessions by id. */
  sessions: Map<string, DevSession>;
  /** Snapshots by id, with their archives. */
  snapshots: Map<string, DevSnapshot>;
  /** Sets every counter back to zero. */
  resetCounters(): void;
  /** Stops the server, ending open connections and running services. */
  close(): Promise<void>;
}

/** A published web service, as the dev server stores it. */
export interface WebService {
  name: string;
  version: string;
  versionPublishedBy: string;
  creationTime: string;
  runtimeType: string;
  code: string;
  [field: string]: unknown;
}

const DEFAULT_USERS: DevUser[] = [{ username: "admin", password: "Admin-Pa55word!" }];
const PUBLISH_FIELDS = ["snapshotId", "code", "description", "operationId", "inputParameterDefinitions", "outputParameterDefinitions", "runtimeType", "initCode", "outputFileNames"];
const MAX_BODY = 16 * 1024 * 1024;
const UNAUTHORIZED = "Unauthorized: the access token is missing, expired or revoked";

/** How much of a refused request's body is read and thrown away, and for how long, before its connection is cut. */
const LINGER_BYTES = 16 * 1024 * 1024;
const LINGER_MS = 2000;

/**
 * A lingering close, as web servers do it: once the answer is sent the connection is half-closed,
 * and what the client still sends is read and dropped, for a bounded time and size. Cutting at
 * once would reset the connection, and a reset can destroy the answer before the client reads it.
 */
function discardRest(req: IncomingMessage, res: ServerResponse): void {
  if (req.complete) return;
  let discarded = 0;
  const cut = () => req.socket.destroy();
  const timer = setTimeout(cut, LINGER_MS).unref();
  req.removeAllListeners("data");
  req.on("data", (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > LINGER_BYTES) cut();
  });
  req.once("end", () => clearTimeout(timer));
  res.once("finish", () => req.socket.end());
  req.resume();
}

/** A request's body, or `undefined` once it passes MAX_BODY (the rest is then left unread). */
function readBody(req: IncomingMessage): Promise<Buffer<ArrayBuffer> | undefined> {
  // Events rather than for-await: leaving a for-await loop destroys the socket, and the 413 with it.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) return void chunks.push(chunk);
      req.pause();
      req.off("data", onData);
      resolve(undefined);
    };
    req.on("data", onData);
    req.once("end", () => resolve(Buffer.concat(chunks)));
    req.once("error", reject);
  });
}

const zeroCounters = (): Counters => ({
  requests: 0, logins: 0, failedLogins: 0, renewals: 0, failedRenewals: 0, revokes: 0,
  unauthorized: 0, unauthorizedApiCalls: 0, azureAdCalls: 0, executions: 0, validationFailures: 0, faultsInjected: 0,
});

/**
 * Starts the dev server on a free loopback port.
 *
 * @example
 * ```ts
 * const server = await startDevServer({ accessTokenSeconds: 2 });
 * const client = createMlServerClient({ baseUrl: server.url, auth: mlServerLogin({ username: "admin", password: "Admin-Pa55word!" }) });
 * ```
 */
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

export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const clock = options.clock ?? Date.now;
  const users = options.users ?? DEFAULT_USERS;
  const authority = new TokenAuthority(
    {
      accessTokenSeconds: options.accessTokenSeconds ?? 3600,
      refreshTokenSeconds: options.refreshTokenSeconds ?? 14 * 24 * 3600,
      maxSessionSeconds: options.maxSessionSeconds ?? 90 * 24 * 3600,
    },
    clock,
    options.sessionMode ?? "per-pair",
  );
  const operations = loadOperations(options.spec ?? bundledSpec());
  const services = new Map<string, WebService>();
  let jwks: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;
  const limits = {
    timeMs: options.executionLimits?.timeMs ?? 10_000,
    outputBytes: options.executionLimits?.outputBytes ?? 1024 * 1024,
    parallelCount: options.executionLimits?.parallelCount ?? availableParallelism(),
  };
  const host = new SessionHost(
    {
      timeLimitMs: limits.timeMs,
      outputLimitBytes: limits.outputBytes,
      maxSessions: options.executionLimits?.sessions ?? 32,
      maxSnapshots: options.executionLimits?.snapshots ?? 64,
      maxSnapshotBytes: options.executionLimits?.snapshotBytes ?? 64 * 1024 * 1024,
    },
    clock,
  );
  /** Pools of services by service key: ML Server's dedicated shells, here only their sizes. */
  const pools = new Map<string, { InitialPoolSize: number; MaxPoolSize: number }>();
  let computeNodes: string[] = [];
  const state: DevServer = {
    url: "",
    port: 0,
    counters: zeroCounters(),
    faults: [...(options.faults ?? [])],
    requests: [],
    authority,
    services,
    sessions: host.sessions,
    snapshots: host.snapshots,
    resetCounters() {
      state.counters = zeroCounters();
      for (const reason of Object.keys(authority.refusals) as (keyof typeof authority.refusals)[]) authority.refusals[reason] = 0;
      state.requests.length = 0;
    },
    close: async () => {},
  };

  const findOperation = (method: string, pathname: string): [Operation, Record<string, string>] | undefined => {
    for (const op of operations) {
      if (op.method !== method) continue;
      const params = op.match(pathname);
      if (params) return [op, params];
    }
    return undefined;
  };

  const takeFault = (route: string): Fault | undefined => {
    const index = state.faults.findIndex((f) => f.route === "*" || f.route === route);
    if (index < 0) return undefined;
    const fault = state.faults[index]!;
    if (fault.times !== undefined && --fault.times <= 0) state.faults.splice(index, 1);
    return fault;
  };

  type Context = { params: Record<string, string>; query: URLSearchParams; body: Record<string, unknown>; form: FormData | undefined; raw: Buffer; user: string; base: string };
  const handlers: Record<string, (ctx: Context) => Promise<[number, unknown?]> | [number, unknown?]> = {
    async login({ body }) {
      const user = users.find((u) => u.username === body.username && u.password === body.password);
      if (!user) {
        state.counters.failedLogins++;
        throw new HttpError(401, "invalid credentials");
      }
      state.counters.logins++;
      return [200, await authority.signIn(user.username, user.accessTokenSeconds)];
    },
    async renewToken({ body }) {
      const tokens = await authority.renew(String(body.refreshToken));
      if (!tokens) {
        state.counters.failedRenewals++;
        throw new HttpError(401, "invalid or expired refresh token");
      }
      state.counters.renewals++;
      return [200, tokens];
    },
    revokeRefreshToken({ query }) {
      if (!authority.revoke(query.get("refreshToken")!)) throw new HttpError(401, "invalid or expired refresh token");
      state.counters.revokes++;
      return [200, {}];
    },
    status: () => [200, {
      statusCode: "pass",
      details: { server: "mlserver-client dev server" },
      components: {
        authentication: { statusCode: "pass", details: { type: "local" }, components: null },
        database: { statusCode: "pass", details: { type: "in-memory" }, components: null },
      },
    }],
    GetWebServiceSwagger({ params }) {
      const service = services.get(key(params.name!, params.version!));
      if (!service) throw new HttpError(404, `web service ${params.name}/${params.version} not found`);
      return [200, serviceSwagger(service as Parameters<typeof serviceSwagger>[0], { revoke: options.legacyRevokePath ? "path" : "query" })];
    },
    getAllWebServices: ({ user }) => [200, [...services.values()].map((s) => view(s, user))],
    getAllWebServiceVersionsByName: ({ params, user }) => [200, [...services.values()].filter((s) => s.name === params.name).map((s) => view(s, user))],
    getWebServiceVersion({ params, user }) {
      const service = services.get(key(params.name!, params.version!));
      if (!service) throw new HttpError(404, `web service ${params.name}/${params.version} not found`);
      return [200, [view(service, user)]];
    },
    publishWebService: ({ params, body, user, base }) => publish(params.name!, randomUUID(), body, user, base),
    publishWebServiceVersion: ({ params, body, user, base }) => publish(params.name!, params.version!, body, user, base),
    patchWebServiceVersion({ params, body, user }) {
      const service = owned(params, user, "update");
      takeSnapshot(service, body, user);
      for (const field of PUBLISH_FIELDS) if (body[field] !== undefined) service[field] = body[field];
      return [200, "Updated"];
    },
    deleteWebServiceVersion({ params, user }) {
      const service = owned(params, user, "delete");
      services.delete(key(service.name, service.version));
      return [200];
    },
    publishRealtimeWebServiceByName: (ctx) => publishRealtime(ctx.params.name!, randomUUID(), ctx),
    publishRealtimeWebServiceByNameVersion: (ctx) => publishRealtime(ctx.params.name!, ctx.params.version!, ctx),
    async createSession({ body, user }) {
      const created = await host.create(user, body as { name?: string; runtimeType?: string; snapshotId?: string });
      return [201, { sessionId: created.id }];
    },
    listSessions: ({ user }) => [200, host.list(user)],
    async closeSession({ params, user }) {
      await host.close(host.find(params.id!, user, { ended: "allow" }), false);
      return [200, "Closed"];
    },
    async closeSessionByForce({ params, user }) {
      await host.close(host.find(params.id!, user, { ended: "allow" }), true);
      return [200, "Closed"];
    },
    executeCode: async ({ params, body, user }) => [200, await host.execute(host.find(params.id!, user), body as Parameters<SessionHost["execute"]>[1])],
    getSessionConsoleOutput: ({ params, user }) => [200, { consoleOutput: host.consoleOutput(host.find(params.id!, user, { ended: "allow" })) }],
    listSessionHistory: ({ params, user }) => [200, host.find(params.id!, user, { ended: "allow" }).history],
    cancelSession: ({ params, user }) => [200, host.cancel(host.find(params.id!, user))],
    listWorkspaceObjects: async ({ params, user }) => [200, await host.objectNames(host.find(params.id!, user))],
    async setWorkspaceObject({ params, user, raw }) {
      await host.setObject(host.find(params.id!, user), params.objectName!, raw);
      return [200];
    },
    getWorkspaceObject: async ({ params, user }) => [200, await host.getObject(host.find(params.id!, user), params.objectName!)],
    async deleteWorkspaceObject({ params, user }) {
      await host.deleteObject(host.find(params.id!, user), params.objectName!);
      return [200];
    },
    listSessionFiles: async ({ params, user }) => [200, await host.files(host.find(params.id!, user))],
    async uploadSessionFile({ params, user, form }) {
      const file = form!.get("file") as File;
      await host.putFile(host.find(params.id!, user), file.name, Buffer.from(await file.arrayBuffer()));
      return [201];
    },
    getSessionFile: async ({ params, user }) => [200, await host.getFile(host.find(params.id!, user), params.fileName!)],
    async deleteSessionFile({ params, user }) {
      await host.deleteFile(host.find(params.id!, user), params.fileName!);
      return [200];
    },
    CreateSnapshot: async ({ params, body, user }) => [201, { snapshotId: await host.takeSnapshot(host.find(params.id!, user), body.name as string | undefined) }],
    async LoadSnapshot({ params, user }) {
      await host.loadSnapshot(host.find(params.id!, user), params.snapshotId!);
      return [200];
    },
    ListSnapshots: ({ user }) => [200, host.listSnapshots(user)],
    GetSnapshotContent: ({ params, user }) => [200, host.snapshot(params.id!, user).archive],
    DeleteSnapshot({ params, user }) {
      host.deleteSnapshot(params.id!, user);
      return [200, "Deleted"];
    },
    getServicePoolStatus({ params }) {
      const service = existing(params);
      return [200, [{ ComputeNodeEndpoint: state.url, Status: pools.has(key(service.name, service.version)) ? "Success" : "NotFound" }]];
    },
    createOrUpdateServicePool({ params, body, user }) {
      const service = owned(params, user, "change the pool of");
      const initial = (body.InitialPoolSize as number | undefined) ?? 0;
      const max = (body.MaxPoolSize as number | undefined) ?? Math.max(initial, 1);
      if (initial > max) throw new HttpError(400, `InitialPoolSize (${initial}) may not exceed MaxPoolSize (${max})`, "RequestValidationException");
      const created = !pools.has(key(service.name, service.version));
      pools.set(key(service.name, service.version), { InitialPoolSize: initial, MaxPoolSize: max });
      return [200, created ? "Created" : "Updated"];
    },
    deleteServicePool({ params, user }) {
      const service = owned(params, user, "remove the pool of");
      if (!pools.delete(key(service.name, service.version))) throw new HttpError(404, `web service ${service.name}/${service.version} has no dedicated pool`, "NotFoundException");
      return [200, "Deleted"];
    },
    getComputeNodes: () => [200, { computeNodes }],
    setComputeNodes({ body, user }) {
      computeNodes = [...new Set(nodeEntries(body, user))];
      return [200];
    },
    addComputeNode({ body, user }) {
      computeNodes = [...new Set([...computeNodes, ...nodeEntries(body, user)])];
      return [200];
    },
    removeComputeNode({ body, user }) {
      const entries = nodeEntries(body, user);
      const unknown = entries.filter((e) => !computeNodes.includes(e));
      if (unknown.length > 0) throw new HttpError(400, `not in the list of compute nodes: ${unknown.join(", ")}`, "RequestValidationException");
      computeNodes = computeNodes.filter((e) => !entries.includes(e));
      return [200];
    },
    patchRealtimeWebServiceByNameVersion: (ctx) => patchRealtime(ctx),
  };

  /** The entries of a compute-node change, checked: admins only, each `http(s)://host:port` or a port range. */
  function nodeEntries(body: Record<string, unknown>, user: string): string[] {
    const account = users.find((u) => u.username === user);
    if (!(account?.admin ?? account?.username === "admin")) {
      throw new HttpError(403, "changing compute nodes needs the admin role", "ForbiddenException");
    }
    const entries = body.entries as string[];
    const bad = entries.filter((e) => !/^https?:\/\/[^\s/:]+(:\d{1,5}(-\d{1,5})?)?\/?$/.test(e));
    if (bad.length > 0) throw new HttpError(400, `not a compute node address (http://host:port or http://host:port1-port2): ${bad.join(", ")}`, "RequestValidationException");
    return entries;
  }

  /** A text field of a form; clients that send every field as a file part get its text. */
  async function formText(form: FormData, name: string): Promise<string | undefined> {
    const value = form.get(name);
    if (value === null) return undefined;
    return typeof value === "string" ? value : await value.text();
  }

  async function realtimeFields(form: FormData): Promise<Record<string, unknown>> {
    const model = form.get("model");
    const bytes = model === null ? undefined : typeof model === "string" ? Buffer.from(model) : Buffer.from(await model.arrayBuffer());
    const description = await formText(form, "description");
    const operationId = await formText(form, "operationId");
    return {
      ...(description !== undefined && { description }),
      ...(operationId !== undefined && { operationId }),
      ...(bytes && { modelBytes: bytes.length, modelSha256: createHash("sha256").update(bytes).digest("hex") }),
    };
  }

  async function publishRealtime(name: string, version: string, { form, user, base }: Context): Promise<[number, unknown]> {
    const fields = await realtimeFields(form!);
    const [status, location] = publish(name, version, { code: "", runtimeType: "Realtime" }, user, base);
    Object.assign(services.get(key(name, version))!, { runtimeType: "Realtime", ...fields });
    return [status, location];
  }

  async function patchRealtime({ params, form, user }: Context): Promise<[number, unknown]> {
    const service = owned(params, user, "update");
    if (service.runtimeType !== "Realtime") throw new HttpError(400, `${service.name}/${service.version} is not a realtime service; change it with PATCH /services/{name}/{version}`);
    Object.assign(service, await realtimeFields(form!));
    return [200, "Updated"];
  }

  function key(name: string, version: string): string {
    return `${name}\u0000${version}`;
  }

  function view(service: WebService, user: string): WebService {
    return { ...service, myPermissionOnService: service.versionPublishedBy === user ? "read/write" : "read only" };
  }

  /**
   * A service published from a snapshot keeps the snapshot's archive: each run starts from its
   * workspace and files, even after the snapshot itself is deleted.
   */
  const serviceSnapshots = new WeakMap<WebService, Buffer>();
  function takeSnapshot(service: WebService, body: Record<string, unknown>, user: string): void {
    if (typeof body.snapshotId !== "string") return;
    serviceSnapshots.set(service, host.snapshot(body.snapshotId, user).archive);
  }

  function publish(name: string, version: string, body: Record<string, unknown>, user: string, base: string): [number, unknown] {
    if ((body.runtimeType ?? "R") === "R") {
      throw new HttpError(400, 'This dev server runs Python services only, so R services cannot run here: publish with runtimeType "Python".');
    }
    const others = [...services.values()].find((s) => s.name === name && s.versionPublishedBy !== user);
    if (others) throw new HttpError(403, `another user owns the web service ${name}; you are not authorized to publish to it`);
    if (services.has(key(name, version))) throw new HttpError(409, `a web service ${name} with version ${version} already exists; use PATCH to update it`);
    const service: WebService = {
      name, version, versionPublishedBy: user, creationTime: new Date(clock()).toISOString(),
      runtimeType: (body.runtimeType as string | undefined) ?? "R", code: body.code as string,
    };
    takeSnapshot(service, body, user);
    for (const field of PUBLISH_FIELDS) if (body[field] !== undefined) service[field] = body[field];
    services.set(key(name, version), service);
    return [201, `${base}/api/${encodeURIComponent(name)}/${encodeURIComponent(version)}`];
  }

  /**
   * `GET /_devserver/counters` answers the counters as JSON, `DELETE` resets them: for tests and
   * benchmarks in other processes. Outside the API's paths, not counted, and for loopback peers only.
   */
  function countersRoute(req: IncomingMessage, res: ServerResponse): void {
    const peer = req.socket.remoteAddress ?? "";
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...headers });
      res.end(text);
    };
    req.resume();
    if (!/^(127\.|::1$|::ffff:127\.)/.test(peer)) return answer(403, { message: "the counters are served to loopback peers only" });
    if (req.method === "GET") return answer(200, { ...state.counters, sessions: authority.sessionCount, refusals: authority.refusals });
    if (req.method === "DELETE") {
      state.resetCounters();
      return answer(200, { ...state.counters, sessions: authority.sessionCount });
    }
    answer(405, { message: "the counters route takes GET or DELETE" }, { allow: "GET, DELETE" });
  }

  function existing(params: Record<string, string>): WebService {
    const service = services.get(key(params.name!, params.version!));
    if (!service) throw new HttpError(404, `web service ${params.name}/${params.version} not found`, "NotFoundException");
    return service;
  }

  function owned(params: Record<string, string>, user: string, action: string): WebService {
    const service = existing(params);
    if (service.versionPublishedBy !== user) throw new HttpError(403, `the web service is owned by another user; only the owner can ${action} it`);
    return service;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.url === COUNTERS_ROUTE || req.url?.startsWith(`${COUNTERS_ROUTE}?`)) return countersRoute(req, res);
    state.counters.requests++;
    const url = new URL(req.url ?? "/", state.url);
    const found = findOperation(req.method ?? "GET", url.pathname);
    // Routes are path templates, never raw paths: a raw path may hold a token (legacy revoke).
    const route = found
      ? `${found[0].method} ${found[0].template}`
      : url.pathname.startsWith("/login/refreshToken/") ? `${req.method} /login/refreshToken/{refreshToken}`
      : url.pathname.startsWith("/api/") ? `${req.method} ${url.pathname.replace(/^(\/api\/[^/]+\/[^/]+)(\/batch)?(\/[^/]+)?.*$/, (_match: string, _base: string, batch?: string, id?: string) => `/api/{name}/{version}${batch ?? ""}${id ? "/{executionId}" : ""}`)}`
      : `${req.method} (no such operation)`;
    const cors = corsHeaders(req);
    const send = (status: number, body?: unknown, extraHeaders: Record<string, string> = {}): void => {
      Object.assign(extraHeaders, cors);
      if (status === 401) {
        state.counters.unauthorized++;
        if (found && found[0].security.length > 0) state.counters.unauthorizedApiCalls++;
        // RFC 6750 section 3: say which scheme is wanted, and that a token sent was not accepted.
        extraHeaders["www-authenticate"] = req.headers.authorization ? 'Bearer realm="mlserver", error="invalid_token"' : 'Bearer realm="mlserver"';
      }
      if (state.requests.length >= 10_000) state.requests.shift();
      state.requests.push({ method: req.method ?? "", route, hadAuthorization: req.headers.authorization !== undefined, status });
      const binary = Buffer.isBuffer(body);
      const payload = binary ? body : body === undefined ? "" : JSON.stringify(body);
      // An empty body gets no content type: an empty "JSON" body is not valid JSON.
      res.writeHead(status, {
        ...(body !== undefined && { "content-type": binary ? "application/octet-stream" : "application/json; charset=utf-8" }),
        "content-length": Buffer.byteLength(payload),
        ...extraHeaders,
      });
      res.end(payload);
    };
    const fail = (status: number, message: string, exceptionType = "DevServerException"): void => send(status, { message, exceptionType });
    // Answered before the body was read (or past its cap): the rest is discarded up to LINGER_BYTES,
    // then the connection is cut. Closing at once could reset it before the client reads the answer.
    const refuseUnread = (status: number, message: string, exceptionType: string): void => {
      send(status, { message, exceptionType });
      discardRest(req, res);
    };
    const tooLarge = () => refuseUnread(413, `the request body is larger than the ${MAX_BODY}-byte limit`, "RequestValidationException");
    if (Number(req.headers["content-length"] ?? 0) > MAX_BODY) return tooLarge();

    if (req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined && options.cors?.enabled !== false && options.cors) {
      // A preflight: allowed origins learn what they may send; others get no CORS header at all.
      if (!cors["access-control-allow-origin"]) return fail(403, "this origin is not allowed by the server's CORS settings", "CorsException");
      return send(204, undefined, { "access-control-allow-methods": CORS_METHODS, "access-control-allow-headers": CORS_HEADERS, "access-control-max-age": "600" });
    }

    const fault = takeFault(route);
    if (fault) {
      state.counters.faultsInjected++;
      if (fault.kind === "drop") {
        req.socket.destroy();
        return;
      }
      if (fault.kind === "delay") await new Promise((r) => setTimeout(r, fault.delayMs ?? 1000));
      if (fault.kind === "status") return send(fault.status ?? 500, { message: "injected fault", exceptionType: "DevServerException" }, { ...fault.headers });
    }
    if (!found) {
      const legacy = options.legacyRevokePath && req.method === "DELETE" ? /^\/login\/refreshToken\/([^/]+)$/.exec(url.pathname) : null;
      if (legacy) return revokeLegacy(decodeURIComponent(legacy[1]!), req.headers.authorization, send, fail);
      if (url.pathname.startsWith("/api/")) return serveConsumption(req, url, send, fail, refuseUnread, tooLarge);
      const allowed = operations.filter((op) => op.match(url.pathname)).map((op) => op.method);
      // The path exists with other methods: 405, saying which (RFC 9110 section 15.5.6).
      if (allowed.length > 0) return send(405, { message: `${req.method} is not an operation of this path; it takes ${allowed.join(", ")}`, exceptionType: "MethodNotAllowedException" }, { allow: allowed.join(", ") });
      // The path is not echoed: an unknown path may hold a token (a revoke in a form not served).
      return fail(404, `no operation ${req.method} on this path in the API description`, "NotFoundException");
    }
    const [op, params] = found;

    // The token is checked before the body is read: a caller without one makes the server read nothing.
    let user = "";
    if (op.security.length > 0) {
      const verified = await caller(req);
      if (!verified) return refuseUnread(401, UNAUTHORIZED, "UnauthorizedAccessException");
      user = verified;
    }
    const raw = await readBody(req);
    if (!raw) return tooLarge();

    const contentType = req.headers["content-type"] ?? "";
    // Media types are case-insensitive (RFC 9110 section 8.3.1); their parameters may not be.
    const mediaType = contentType.split(";")[0]!.trim().toLowerCase();
    let form: FormData | undefined;
    if (mediaType === "multipart/form-data") {
      try {
        form = await new Request("http://form.invalid/", { method: "POST", headers: { "content-type": contentType }, body: raw }).formData();
      } catch {
        return fail(400, "the multipart body could not be parsed", "RequestValidationException");
      }
    }
    const violations = op.validate({ query: url.searchParams, contentType, body: raw, form });
    if (violations.length > 0) {
      state.counters.validationFailures++;
      return fail(400, `The request does not match the API description: ${violations.join("; ")}`, "RequestValidationException");
    }

    const handler = handlers[op.operationId];
    if (!handler) return fail(501, `${op.operationId} is not implemented by the dev server`, "NotImplementedException");
    let body: Context["body"];
    try {
      body = (mediaType === "application/json" || mediaType.endsWith("+json")) && raw.length > 0 ? (JSON.parse(raw.toString("utf8")) as Context["body"]) : (undefined as unknown as Context["body"]);
    } catch {
      return fail(400, "the body is not valid JSON", "RequestValidationException");
    }
    try {
      const [status, payload] = await handler({ params, query: url.searchParams, body, form, raw, user, base: state.url });
      send(status, payload);
    } catch (error) {
      if (error instanceof HttpError) return fail(error.status, error.message, error.exceptionType);
      throw error;
    }
  }

  /** The CORS headers of an answer to `req`: the origin echoed when it is allowed, `Vary: Origin` whenever CORS is on. */
  function corsHeaders(req: IncomingMessage): Record<string, string> {
    const cors = options.cors;
    if (!cors || cors.enabled === false) return {};
    const origin = req.headers.origin;
    if (!origin || !(cors.origins.includes(origin) || cors.origins.includes("*"))) return { vary: "Origin" };
    return { "access-control-allow-origin": origin, vary: "Origin", "access-control-expose-headers": "WWW-Authenticate, Retry-After" };
  }

  /** The user a request's bearer token belongs to, if it is valid (ML Server's or, when configured, Azure AD's). */
  async function caller(req: IncomingMessage): Promise<string | undefined> {
    const token = /^Bearer (.+)$/i.exec(req.headers.authorization ?? "")?.[1];
    return token ? ((await authority.verify(token)) ?? (await verifyAzureAd(token))) : undefined;
  }

  /** Runs one input set of a service, as its runtime does; inputs were checked by `inputProblems`. */
  async function execute(service: WebService, inputs: Record<string, unknown>, signal?: AbortSignal): Promise<ExecutionResult> {
    state.counters.executions++;
    const outputs = ((service.outputParameterDefinitions as ParameterDefinition[] | undefined) ?? []).map((d) => d.name);
    const declared = ((service.inputParameterDefinitions as ParameterDefinition[] | undefined) ?? []).map((d) => d.name);
    const snapshot = serviceSnapshots.get(service);
    return runPython({
      code: service.code,
      ...(typeof service.initCode === "string" && { initCode: service.initCode }),
      inputs: Object.fromEntries(declared.filter((n) => n in inputs).map((n) => [n, inputs[n]])),
      outputs,
      outputFileNames: (service.outputFileNames as string[] | undefined) ?? [],
      ...(snapshot && { snapshot }),
      ...(signal && { signal }),
      timeLimitMs: limits.timeMs,
      outputLimitBytes: limits.outputBytes,
    });
  }

  /** 400 naming each input that does not have its declared type. */
  function checkInputs(service: WebService, inputs: Record<string, unknown>, where = ""): void {
    const problems = inputProblems((service.inputParameterDefinitions as ParameterDefinition[] | undefined) ?? [], inputs);
    if (problems.length > 0) throw new HttpError(400, `${where}${problems.join("; ")}`, "RequestValidationException");
  }

  interface Batch {
    id: string;
    service: WebService;
    items: Record<string, unknown>[];
    results: (ExecutionResult | undefined)[];
    started: number;
    /** Aborted by a cancel (or the server closing): stops the running items and starts no more. */
    cancel: AbortController;
  }
  const batches = new Map<string, Batch>();
  /** Batches kept for their results; the oldest finished ones go first beyond this. */
  const MAX_BATCHES = 1000;

  function startBatch(service: WebService, items: Record<string, unknown>[], parallel: number): Batch {
    const batch: Batch = { id: randomUUID(), service, items, results: items.map(() => undefined), started: 0, cancel: new AbortController() };
    for (const [id, old] of batches) {
      if (batches.size < MAX_BATCHES) break;
      if (old.results.every((r) => r !== undefined) || old.cancel.signal.aborted) batches.delete(id);
    }
    batches.set(batch.id, batch);
    const worker = async () => {
      while (!batch.cancel.signal.aborted && batch.started < items.length) {
        const index = batch.started++;
        const result = await execute(service, items[index]!, batch.cancel.signal);
        if (!batch.cancel.signal.aborted) batch.results[index] = result;
      }
    };
    for (let i = 0; i < Math.max(1, Math.min(parallel, items.length)); i++) void worker();
    return batch;
  }

  function batchStatus(batch: Batch, partial: boolean) {
    const done = batch.results.filter((r): r is ExecutionResult => r !== undefined);
    const complete = done.length === batch.items.length;
    return {
      state: complete ? "complete" : batch.started > 0 ? "inProgress" : "ready",
      completedItemCount: done.length,
      totalItemCount: batch.items.length,
      batchExecutionResults: complete || partial ? done : [],
    };
  }

  /** The consumption calls of published services (described by each service's own swagger). */
  async function consumption(method: string, path: string, query: URLSearchParams, body: unknown): Promise<[number, unknown] | undefined> {
    const m = /^\/api\/([^/]+)\/([^/]+)(?:\/(batch)(?:\/([^/]+)(?:\/(\d+)\/files(?:\/([^/]+))?)?)?)?$/.exec(path);
    if (!m || m[2] === "swagger.json") return undefined;
    const [, name, version, isBatch, executionId, index, fileName] = m.map((p) => (p === undefined ? undefined : decodeURIComponent(p)));
    const service = services.get(key(name!, version!));
    if (!service) throw new HttpError(404, `web service ${name}/${version} not found`);
    if (service.runtimeType !== "Python") throw new HttpError(400, `the dev server runs Python services only; ${name}/${version} is ${service.runtimeType}`);
    if (!isBatch && method === "POST") {
      if (typeof body !== "object" || body === null || Array.isArray(body)) throw new HttpError(400, "the body must be a JSON object of input parameters");
      checkInputs(service, body as Record<string, unknown>);
      return [200, await execute(service, body as Record<string, unknown>)];
    }
    if (isBatch && !executionId) {
      if (method === "GET") return [200, [...batches.values()].filter((b) => b.service === service).map((b) => b.id)];
      if (method !== "POST") return undefined;
      if (!Array.isArray(body) || body.some((b) => typeof b !== "object" || b === null || Array.isArray(b))) throw new HttpError(400, "the body must be a JSON array of input parameter objects");
      (body as Record<string, unknown>[]).forEach((item, i) => checkInputs(service, item, `item ${i}: `));
      const parallel = Number(query.get("parallelCount") ?? String(limits.parallelCount));
      if (!Number.isInteger(parallel) || parallel < 1) throw new HttpError(400, "parallelCount must be a positive integer");
      return [202, { batchExecutionId: startBatch(service, body as Record<string, unknown>[], Math.min(parallel, limits.parallelCount)).id }];
    }
    const batch = batches.get(executionId ?? "");
    if (!batch || batch.service !== service) throw new HttpError(404, `batch execution ${executionId} not found`);
    if (index === undefined) {
      if (method === "GET") return [200, batchStatus(batch, query.get("showPartialResults") === "true")];
      if (method === "DELETE") {
        batch.cancel.abort();
        batches.delete(batch.id);
        return [200, batch.results.flatMap((r, i) => (r ? [String(i)] : []))];
      }
      return undefined;
    }
    const files = batch.results[Number(index)]?.outputFiles;
    if (!files) throw new HttpError(404, `no finished run at index ${index}`);
    if (fileName === undefined) return [200, Object.keys(files)];
    if (files[fileName] === undefined) throw new HttpError(404, `no file ${fileName}`);
    return [200, Buffer.from(files[fileName]!, "base64")];
  }

  /** The caller of an Azure AD token, when AAD is configured and the token is valid for it. */
  async function verifyAzureAd(token: string): Promise<string | undefined> {
    const aad = options.azureActiveDirectory;
    if (!aad) return undefined;
    jwks ??= import("../src/transport/dispatcher.js").then(({ fetchTrusting }) => {
      const trusted = aad.ca ? fetchTrusting(aad.ca) : globalThis.fetch;
      return createRemoteJWKSet(new URL(aad.jwksUri), { [customFetch]: (url: string, init: RequestInit) => trusted(new Request(url, init)) });
    });
    try {
      const { payload } = await jwtVerify(token, await jwks, { issuer: aad.issuer, audience: aad.audience, currentDate: new Date(clock()) });
      state.counters.azureAdCalls++;
      return String(payload.preferred_username ?? payload.sub ?? payload.client_id);
    } catch {
      return undefined;
    }
  }

  async function serveConsumption(
    req: IncomingMessage, url: URL, send: (s: number, b?: unknown) => void, fail: (s: number, m: string, t?: string) => void,
    refuseUnread: (s: number, m: string, t: string) => void, tooLarge: () => void,
  ): Promise<void> {
    const user = await caller(req);
    if (!user) return refuseUnread(401, UNAUTHORIZED, "UnauthorizedAccessException");
    const bytes = await readBody(req);
    if (!bytes) return tooLarge();
    const raw = bytes.toString("utf8");
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      return fail(400, "the body is not valid JSON", "RequestValidationException");
    }
    try {
      const answer = await consumption(req.method ?? "GET", url.pathname, url.searchParams, body);
      if (!answer) return fail(404, `no operation ${req.method} on this path`, "NotFoundException");
      send(answer[0], answer[1]);
    } catch (error) {
      if (error instanceof HttpError) return fail(error.status, error.message, error.exceptionType);
      if (error instanceof URIError) return fail(400, "the path holds a malformed percent-encoding", "RequestValidationException");
      throw error;
    }
  }

  async function revokeLegacy(refreshToken: string, authorization: string | undefined, send: (s: number, b?: unknown) => void, fail: (s: number, m: string) => void): Promise<void> {
    const token = /^Bearer (.+)$/i.exec(authorization ?? "")?.[1];
    if (!token || !(await authority.verify(token))) return fail(401, "Unauthorized: the access token is missing, expired or revoked");
    if (!authority.revoke(refreshToken)) return fail(401, "invalid or expired refresh token");
    state.counters.revokes++;
    send(200, {});
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ message: `dev server error: ${(error as Error).message}`, exceptionType: "InternalServerError" }));
      }
    });
  };
  const server = options.tls ? createHttpsServer(options.tls, listener) : createServer(listener);
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolvePromise, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolvePromise());
  });
  state.port = (server.address() as AddressInfo).port;
  state.url = `${options.tls ? "https" : "http"}://127.0.0.1:${state.port}`;
  state.close = async () => {
    for (const batch of batches.values()) batch.cancel.abort();
    await Promise.all([
      new Promise<void>((resolvePromise) => {
        server.close(() => resolvePromise());
        server.closeAllConnections();
      }),
      host.closeAll(),
    ]);
  };
  return state;
}
