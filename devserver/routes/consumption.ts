/**
 * Consuming published services, as each service's own swagger describes it: one call, or a batch
 * of input sets run in the background (status, partial results, files, cancel). A batch is seen
 * and cancelled by whoever started it, and by admins.
 */
import { randomUUID } from "node:crypto";
import { checkInputs, execute } from "../execution.js";
import { HttpError } from "../http-error.js";
import { existingService, isAdmin, type Batch, type DevState } from "../state.js";
import type { ExecutionResult } from "../service-pool.js";
import type { WebService } from "../types.js";
import type { RouteContext, RouteTable } from "./route.js";

/** Batches kept for their results; the oldest finished ones go first beyond this. */
const MAX_BATCHES = 1000;

const PATH = /^\/api\/([^/]+)\/([^/]+)(?:\/(batch)(?:\/([^/]+)(?:\/(\d+)\/files(?:\/([^/]+))?)?)?)?$/;

/**
 * The consumption operation a request names, with its path parameters; `undefined` when the path
 * is not a consumption path, `null` when it is one without this method. Throws `URIError` on a
 * malformed percent-encoding.
 */
export function matchConsumption(
  method: string,
  pathname: string,
): { operationId: string; params: Record<string, string> } | null | undefined {
  const m = PATH.exec(pathname);
  if (!m || m[2] === "swagger.json") return undefined;
  const [, name, version, isBatch, executionId, index, fileName] = m.map((p) =>
    p === undefined ? undefined : decodeURIComponent(p),
  );
  const params = {
    name: name!,
    version: version!,
    ...(executionId !== undefined && { executionId }),
    ...(index !== undefined && { index }),
    ...(fileName !== undefined && { fileName }),
  };
  const operationId = !isBatch
    ? method === "POST"
      ? "consumeWebService"
      : undefined
    : executionId === undefined
      ? ({ GET: "listBatchExecutions", POST: "startBatchExecution" } as Record<string, string>)[method]
      : index === undefined
        ? ({ GET: "getBatchExecutionStatus", DELETE: "cancelBatchExecution" } as Record<string, string>)[method]
        : method === "GET"
          ? fileName === undefined
            ? "listBatchExecutionFiles"
            : "getBatchExecutionFile"
          : undefined;
  return operationId ? { operationId, params } : null;
}

function runnable(ctx: RouteContext): WebService {
  const service = existingService(ctx.state, ctx.params);
  if (service.runtimeType !== "Python" && service.runtimeType !== "R")
    throw new HttpError(400, `the dev server runs Python and R services; this service is ${service.runtimeType}`);
  return service;
}

const visible = (state: DevState, batch: Batch, user: string) => batch.owner === user || isAdmin(state, user);

/** The caller's batch of this service (or any, for an admin); 404 otherwise, as if it did not exist. */
function batchOf(ctx: RouteContext): Batch {
  const service = runnable(ctx);
  const batch = ctx.state.batches.get(ctx.params.executionId ?? "");
  if (!batch || batch.service !== service || !visible(ctx.state, batch, ctx.user))
    throw new HttpError(404, "no batch execution with this id for this service", "NotFoundException");
  return batch;
}

function startBatch(
  state: DevState,
  owner: string,
  service: WebService,
  items: Record<string, unknown>[],
  parallel: number,
): Batch {
  const batch: Batch = {
    id: randomUUID(),
    owner,
    service,
    items,
    results: items.map(() => undefined),
    started: 0,
    cancel: new AbortController(),
  };
  for (const [id, old] of state.batches) {
    if (state.batches.size < MAX_BATCHES) break;
    if (old.results.every((r) => r !== undefined) || old.cancel.signal.aborted) state.batches.delete(id);
  }
  state.batches.set(batch.id, batch);
  const worker = async () => {
    while (!batch.cancel.signal.aborted && batch.started < items.length) {
      const index = batch.started++;
      const result = await execute(state, service, items[index]!, batch.cancel.signal).catch((error: unknown) =>
        failedRun(error),
      );
      if (!batch.cancel.signal.aborted) batch.results[index] = result;
    }
  };
  for (let i = 0; i < Math.max(1, Math.min(parallel, items.length)); i++) void worker();
  return batch;
}

/** A run that could not start (e.g. Python went missing) is a failed item, never a crash. */
function failedRun(error: unknown): ExecutionResult {
  return {
    success: false,
    errorMessage: error instanceof HttpError ? error.message : "the run could not start",
    consoleOutput: "",
    changedFiles: [],
    outputParameters: {},
    outputFiles: {},
  };
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

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export const consumptionRoutes: RouteTable = {
  async consumeWebService(ctx) {
    const service = runnable(ctx);
    if (!isRecord(ctx.body)) throw new HttpError(400, "the body must be a JSON object of input parameters");
    checkInputs(service, ctx.body);
    return [200, await execute(ctx.state, service, ctx.body)];
  },
  listBatchExecutions(ctx) {
    const service = runnable(ctx);
    return [
      200,
      [...ctx.state.batches.values()]
        .filter((b) => b.service === service && visible(ctx.state, b, ctx.user))
        .map((b) => b.id),
    ];
  },
  startBatchExecution(ctx) {
    const service = runnable(ctx);
    const body: unknown = ctx.body;
    if (!Array.isArray(body) || !body.every(isRecord))
      throw new HttpError(400, "the body must be a JSON array of input parameter objects");
    body.forEach((item, i) => checkInputs(service, item, `item ${i}: `));
    const parallel = Number(ctx.query.get("parallelCount") ?? String(ctx.state.limits.parallelCount));
    if (!Number.isInteger(parallel) || parallel < 1)
      throw new HttpError(400, "parallelCount must be a positive integer");
    const { id } = startBatch(ctx.state, ctx.user, service, body, Math.min(parallel, ctx.state.limits.parallelCount));
    // The spec and this project's client read batchExecutionId; Microsoft's Python SDK reads BatchExecutionId.
    return [202, { batchExecutionId: id, BatchExecutionId: id }];
  },
  getBatchExecutionStatus: (ctx) => [200, batchStatus(batchOf(ctx), ctx.query.get("showPartialResults") === "true")],
  cancelBatchExecution(ctx) {
    const batch = batchOf(ctx);
    batch.cancel.abort();
    ctx.state.batches.delete(batch.id);
    return [200, batch.results.flatMap((r, i) => (r ? [String(i)] : []))];
  },
  listBatchExecutionFiles(ctx) {
    const files = batchOf(ctx).results[Number(ctx.params.index)]?.outputFiles;
    if (!files) throw new HttpError(404, "no finished run at this index", "NotFoundException");
    return [200, Object.keys(files)];
  },
  getBatchExecutionFile(ctx) {
    const files = batchOf(ctx).results[Number(ctx.params.index)]?.outputFiles;
    const file = files?.[ctx.params.fileName!];
    if (file === undefined) throw new HttpError(404, "no such file for this run", "NotFoundException");
    return [200, Buffer.from(file, "base64")];
  },
};
