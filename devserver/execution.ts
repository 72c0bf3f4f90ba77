/**
 * Running published services: one pool of warm shells per service (see `ServicePool`), sized by
 * the pool API or the server's defaults, retired when the service changes or goes; inputs checked
 * against their declared types before any code runs.
 */
import { HttpError } from "./http-error.js";
import { inputProblems } from "./parameters.js";
import { packagesForTypes, PYTHON_PACKAGES } from "./python.js";
import { ServicePool, type ExecutionResult, type PoolSizes } from "./service-pool.js";
import type { ParameterDefinition } from "./service-swagger.js";
import { serviceKey, type DevState } from "./state.js";
import type { WebService } from "./types.js";

const definitions = (service: WebService, which: "input" | "output"): ParameterDefinition[] =>
  (service[`${which}ParameterDefinitions`] as ParameterDefinition[] | undefined) ?? [];

/**
 * 400 unless the dev server can run a service declared this way: an interpreter for its runtime
 * (R when none is named, as on ML Server) that starts, and for Python the packages its parameter
 * types map to. Realtime services run no code here.
 */
export async function checkRunnable(
  state: DevState,
  fields: { runtimeType?: unknown; inputParameterDefinitions?: unknown; outputParameterDefinitions?: unknown },
): Promise<void> {
  const runtimeType = fields.runtimeType ?? "R";
  if (runtimeType === "Realtime") return;
  await state.engine(runtimeType);
  if (runtimeType !== "Python") return;
  const python = await state.python();
  if (!python.ok) throw new HttpError(400, python.problem);
  const types = [fields.inputParameterDefinitions, fields.outputParameterDefinitions].flatMap((d) =>
    ((d as ParameterDefinition[] | undefined) ?? []).map((p) => p.type),
  );
  const missing = packagesForTypes(types).filter((name) => !python.packages[name]);
  if (missing.length > 0) {
    throw new HttpError(
      400,
      `the dev server's Python (${python.executable}) lacks ${missing.join(" and ")}, needed for ` +
        `${missing.map((m) => PYTHON_PACKAGES[m]).join("; ")}: install it there, or start the dev server with ` +
        `another Python (python option, --python)`,
    );
  }
}

/** 400 naming each input that does not have its declared type. */
export function checkInputs(service: WebService, inputs: Record<string, unknown>, where = ""): void {
  const problems = inputProblems(definitions(service, "input"), inputs);
  if (problems.length > 0) throw new HttpError(400, `${where}${problems.join("; ")}`, "RequestValidationException");
}

/** The sizes a service's pool has: its own (pool API) or the server's default. */
export function poolSizes(state: DevState, service: WebService): PoolSizes {
  return state.poolSizes.get(serviceKey(service.name, service.version)) ?? state.limits.pool;
}

/** The service's pool, started (with its initial shells) if it has none yet. */
export async function poolOf(state: DevState, service: WebService): Promise<ServicePool> {
  const key = serviceKey(service.name, service.version);
  const existing = state.pools.get(key);
  if (existing) return existing;
  const engine = await state.engine(service.runtimeType);
  // Another call may have started it while this one waited for the interpreter.
  const raced = state.pools.get(key);
  if (raced) return raced;
  const snapshot = state.serviceSnapshots.get(service);
  const pool = new ServicePool(
    engine,
    {
      code: service.code,
      ...(typeof service.initCode === "string" && { initCode: service.initCode }),
      ...(snapshot && { snapshot }),
      inputTypes: Object.fromEntries(definitions(service, "input").map((d) => [d.name, d.type])),
      outputs: definitions(service, "output").map((d) => d.name),
      outputTypes: Object.fromEntries(definitions(service, "output").map((d) => [d.name, d.type])),
      outputFileNames: (service.outputFileNames as string[] | undefined) ?? [],
    },
    poolSizes(state, service),
    { timeLimitMs: state.limits.timeMs, outputLimitBytes: state.limits.outputBytes },
    () => void state.server.counters.shellsStarted++,
    state.interpreters,
  );
  state.pools.set(key, pool);
  return pool;
}

/** Stops a service's shells (it changed or was deleted); the next call starts a fresh pool. */
export function retirePool(state: DevState, service: WebService): void {
  const key = serviceKey(service.name, service.version);
  const pool = state.pools.get(key);
  state.pools.delete(key);
  void pool?.close();
}

/** Runs one input set of a service in a warm shell; inputs were checked by `checkInputs`. */
export async function execute(
  state: DevState,
  service: WebService,
  inputs: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<ExecutionResult> {
  state.server.counters.executions++;
  const declared = definitions(service, "input").map((d) => d.name);
  const pool = await poolOf(state, service);
  return pool.run(Object.fromEntries(declared.filter((n) => n in inputs).map((n) => [n, inputs[n]])), signal);
}
