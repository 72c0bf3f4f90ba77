/**
 * Everything a running dev server holds, in one object the routes share: accounts and tokens,
 * services and their pools, batches, sessions and snapshots, compute nodes, and the public view
 * tests read (counters, faults, recorded requests).
 */
import { availableParallelism } from "node:os";
import { HttpError } from "./http-error.js";
import { defaultInterpreterBudget, InterpreterBudget } from "./interpreters.js";
import { pythonEngine, rEngine, type Engine } from "./engines.js";
import { resolvePython, type PythonRuntime } from "./python.js";
import { resolveR, type RRuntime } from "./r.js";
import type { ExecutionResult, PoolSizes, ServicePool } from "./service-pool.js";
import { SessionHost } from "./sessions.js";
import { TokenAuthority } from "./tokens.js";
import type { Counters, DevServer, DevServerOptions, DevUser, WebService } from "./types.js";
import type { Operation } from "./validate.js";

const DEFAULT_USERS: DevUser[] = [{ username: "admin", password: "Admin-Pa55word!" }];

/** A batch execution: its items, their results so far, and who may see it. */
export interface Batch {
  id: string;
  owner: string;
  service: WebService;
  items: Record<string, unknown>[];
  results: (ExecutionResult | undefined)[];
  started: number;
  /** Aborted by a cancel (or the server closing): stops the running items and starts no more. */
  cancel: AbortController;
}

export interface DevState {
  readonly options: DevServerOptions;
  readonly clock: () => number;
  readonly users: DevUser[];
  readonly authority: TokenAuthority;
  readonly operations: Operation[];
  readonly services: Map<string, WebService>;
  /**
   * A service published from a snapshot keeps the archive: its shells start from it, even after the snapshot is
   * deleted.
   */
  readonly serviceSnapshots: WeakMap<WebService, Buffer>;
  /** Pool sizes set through the pool API, by service key. */
  readonly poolSizes: Map<string, PoolSizes>;
  /** Live pools of warm shells, by service key. */
  readonly pools: Map<string, ServicePool>;
  readonly batches: Map<string, Batch>;
  readonly sessions: SessionHost;
  readonly limits: { timeMs: number; outputBytes: number; parallelCount: number; pool: PoolSizes };
  /** Every Python and R process counts here: pools, sessions and batches together. */
  readonly interpreters: InterpreterBudget;
  computeNodes: string[];
  /** What tests see; `counters` is replaced on reset, so always read it through here. */
  readonly server: DevServer;
  /** The interpreter behind `options.python`, found on first use. */
  python(): Promise<PythonRuntime>;
  /** The `Rscript` behind `options.r`, found on first use. */
  r(): Promise<RRuntime>;
  /** The engine that runs `runtimeType` code; a 400 saying why when it cannot run here. */
  engine(runtimeType: unknown): Promise<Engine>;
}

export const zeroCounters = (): Counters => ({
  requests: 0,
  logins: 0,
  failedLogins: 0,
  renewals: 0,
  failedRenewals: 0,
  revokes: 0,
  unauthorized: 0,
  unauthorizedApiCalls: 0,
  azureAdCalls: 0,
  executions: 0,
  shellsStarted: 0,
  validationFailures: 0,
  faultsInjected: 0,
});

export function createState(options: DevServerOptions, operations: Operation[]): DevState {
  const clock = options.clock ?? Date.now;
  const authority = new TokenAuthority(
    {
      accessTokenSeconds: options.accessTokenSeconds ?? 3600,
      refreshTokenSeconds: options.refreshTokenSeconds ?? 14 * 24 * 3600,
      maxSessionSeconds: options.maxSessionSeconds ?? 90 * 24 * 3600,
    },
    clock,
    options.sessionMode ?? "per-pair",
  );
  const execution = options.executionLimits ?? {};
  const parallelCount = execution.parallelCount ?? availableParallelism();
  const interpreters = new InterpreterBudget(execution.interpreters ?? defaultInterpreterBudget());
  if (!(Number.isInteger(interpreters.limit) && interpreters.limit >= 1))
    throw new RangeError("executionLimits.interpreters takes a whole number, 1 or more");
  // The default pool fits the budget: its shells are interpreters too.
  const initial = Math.min(options.servicePool?.initialSize ?? 1, interpreters.limit);
  const limits = {
    timeMs: execution.timeMs ?? 10_000,
    outputBytes: execution.outputBytes ?? 1024 * 1024,
    parallelCount,
    pool: {
      initial,
      max: Math.min(Math.max(options.servicePool?.maxSize ?? parallelCount, initial, 1), interpreters.limit),
    },
  };
  let python: Promise<PythonRuntime> | undefined;
  const findPython = () => (python ??= resolvePython(options.python ?? "python3"));
  let r: Promise<RRuntime> | undefined;
  const findR = () => (r ??= resolveR(options.r ?? "Rscript"));
  const engine = async (runtimeType: unknown): Promise<Engine> => {
    if (runtimeType === "Python") {
      const found = await findPython();
      if (!found.ok) throw new HttpError(400, found.problem);
      return interpreters.wrap(pythonEngine(found.executable));
    }
    if (runtimeType === "R") {
      const found = await findR();
      if (!found.ok) throw new HttpError(400, found.problem);
      return interpreters.wrap(rEngine(found.executable));
    }
    throw new HttpError(
      400,
      `the dev server runs Python and R code; ${JSON.stringify(runtimeType)} is neither`,
      "RequestValidationException",
    );
  };
  const sessions = new SessionHost(
    {
      timeLimitMs: limits.timeMs,
      outputLimitBytes: limits.outputBytes,
      maxSessions: execution.sessions ?? 8,
      maxSnapshots: execution.snapshots ?? 64,
      maxSnapshotBytes: execution.snapshotBytes ?? 64 * 1024 * 1024,
    },
    clock,
    engine,
    () => interpreters.makeRoom(),
  );
  const services = new Map<string, WebService>();
  const state: DevState = {
    options,
    clock,
    authority,
    operations,
    limits,
    interpreters,
    sessions,
    services,
    users: options.users ?? DEFAULT_USERS,
    serviceSnapshots: new WeakMap(),
    poolSizes: new Map(),
    pools: new Map(),
    batches: new Map(),
    computeNodes: [],
    python: findPython,
    r: findR,
    engine,
    server: {
      url: "",
      port: 0,
      counters: zeroCounters(),
      faults: [...(options.faults ?? [])],
      requests: [],
      authority,
      services,
      sessions: sessions.sessions,
      snapshots: sessions.snapshots,
      resetCounters() {
        state.server.counters = zeroCounters();
        for (const reason of Object.keys(authority.refusals) as (keyof typeof authority.refusals)[])
          authority.refusals[reason] = 0;
        state.server.requests.length = 0;
      },
      close: async () => {},
    },
  };
  return state;
}

/** A service's key in `services`, `pools` and `poolSizes`. */
export const serviceKey = (name: string, version: string): string => `${name}\u0000${version}`;

/** The service a path names, or a 404 that does not echo the name (it came from the caller). */
export function existingService(state: DevState, params: Record<string, string>): WebService {
  const service = state.services.get(serviceKey(params.name!, params.version!));
  if (!service) throw new HttpError(404, "no web service with this name and version", "NotFoundException");
  return service;
}

/** The service a path names, if `user` published it; 403 otherwise. */
export function ownedService(
  state: DevState,
  params: Record<string, string>,
  user: string,
  action: string,
): WebService {
  const service = existingService(state, params);
  if (service.versionPublishedBy !== user)
    throw new HttpError(403, `the web service is owned by another user; only the owner can ${action} it`);
  return service;
}

/** Whether `user` has ML Server's admin role. */
export function isAdmin(state: DevState, user: string): boolean {
  const account = state.users.find((u) => u.username === user);
  return account?.admin ?? account?.username === "admin";
}
