import { abortable } from "./core/fetch.js";
import { createAuthenticatedClient, type MlServerClient, type MlServerClientOptions } from "./client.js";
import type { OperationSecurityMap } from "./auth/security.js";
import {
  apiError,
  BatchCancelledError,
  InvalidOptionError,
  NotFoundError,
  ServiceExecutionError,
} from "./core/errors.js";

/** What a service's generated `components` must hold: its inputs and outputs. */
export interface ServiceSchemas {
  schemas: { InputParameters: object; OutputParameters: object };
}

/** One successful run: the typed outputs, what the code printed, and the files it returned. */
export interface ServiceResult<Outputs> {
  outputs: Outputs;
  consoleOutput: string;
  changedFiles: string[];
  /** Files named in the service's `outputFileNames`, decoded from the base64 the server sends. */
  outputFiles: Record<string, Uint8Array>;
}

/** Where a batch execution stands. */
export interface BatchProgress<Outputs> {
  /**
   * ML Server's four states: `pending` (accepted, waiting its turn), `ready` (accepted, no row
   * started yet: the service's shells are being readied), `inProgress` (rows running; `completed`
   * counts those finished) and `complete` (every row finished, well or not). A cancelled batch
   * has no state: it is gone from the server, and following it is a `BatchCancelledError`.
   */
  state: "pending" | "inProgress" | "ready" | "complete";
  completed: number;
  total: number;
  /** The runs finished so far (all of them once complete), failures included as errors. */
  results: (ServiceResult<Outputs> | ServiceExecutionError)[];
}

/** Which service a service client calls. */
export interface ServiceName {
  name: string;
  version: string;
}

/** Options of {@link createServiceClient} without a client: the client's options, plus the service. */
export interface ServiceClientOptions extends MlServerClientOptions, ServiceName {
  /** The service's generated security map (`*.security.ts`), when the spec is generated. */
  security?: OperationSecurityMap;
}

/** A published web service, callable with typed inputs and outputs. */
export interface ServiceClient<Inputs, Outputs> {
  /** Runs the service once; a run that fails throws {@link ServiceExecutionError}. */
  consume(inputs: Inputs, options?: { signal?: AbortSignal }): Promise<ServiceResult<Outputs>>;
  /** Starts a batch execution; resolves to its id. */
  startBatch(inputs: Inputs[], options?: { parallelCount?: number }): Promise<string>;
  /** The state of a batch execution, with the results finished so far. */
  batchStatus(id: string): Promise<BatchProgress<Outputs>>;
  /**
   * Starts a batch (or, with `executionId`, follows one already started, e.g. by a process that
   * died), polls it (reporting progress) until it completes, and returns every result.
   *
   * @example
   * ```ts
   * const results = await scorer.runBatch(rows, {
   *   onStart: (id) => saveSomewhere(id),
   *   onProgress: (p) => console.log(p.completed),
   * });
   * // later, in another process: the same results, without starting again
   * const again = await scorer.runBatch([], { executionId: savedId });
   * ```
   */
  runBatch(
    inputs: Inputs[],
    options?: RunBatchOptions<Outputs>,
  ): Promise<(ServiceResult<Outputs> | ServiceExecutionError)[]>;
  /** Cancels a batch execution and deletes its results on the server. */
  cancelBatch(id: string): Promise<void>;
  /** The ids of this service's batch executions that the caller may see. */
  listBatches(): Promise<string[]>;
  /**
   * The files a finished run of a batch wrote (its `outputFileNames`), by the run's index (from 0).
   * The names are as the server gave them, not checked: save the files with `saveServerFiles`,
   * which refuses any name that is not a plain file name.
   *
   * @example
   * ```ts
   * const files: Record<string, Uint8Array> = {};
   * for (const file of await scorer.batchFiles(id, 0)) files[file] = await scorer.batchFile(id, 0, file);
   * await saveServerFiles("artifacts", files);
   * ```
   */
  batchFiles(id: string, index: number): Promise<string[]>;
  /** One file a finished run of a batch wrote, as bytes. */
  batchFile(id: string, index: number, fileName: string): Promise<Uint8Array>;
}

/** Options of {@link ServiceClient.runBatch}. */
export interface RunBatchOptions<Outputs> {
  /** Runs at a time on the server (the server may lower it). */
  parallelCount?: number;
  /** How often to poll (default 200 ms). */
  intervalMs?: number;
  /** Called once the batch has started, with its id: keep it to follow or cancel the batch later. */
  onStart?: (executionId: string) => void;
  /** Follow this batch instead of starting one (`inputs` is then ignored). */
  executionId?: string;
  /** Called after each poll with where the batch stands and the results so far. */
  onProgress?: (progress: BatchProgress<Outputs>) => void;
  /**
   * Cancels the batch: aborting it stops the polling and the batch on the server together, and
   * `runBatch` rejects with the abort's reason. With `leaveRunningOnAbort`, only the polling stops.
   */
  signal?: AbortSignal;
  /** On abort, stop following the batch but leave it running on the server (default false). */
  leaveRunningOnAbort?: boolean;
}

interface RawResult {
  success?: boolean;
  errorMessage?: string;
  consoleOutput?: string;
  changedFiles?: string[];
  outputParameters?: unknown;
  outputFiles?: Record<string, string>;
}

/**
 * A typed client for one published web service, built on the types generated from its own swagger
 * (`npx mlserver generate --server <url> --service <name>@<version> -o <file>`). Made from the
 * client you have, it shares that client's sign-in, transport, retries and token store; or from
 * options, as `createMlServerClient` takes them. Tokens are renewed as for any call, including
 * during long batches.
 *
 * @example
 * ```ts
 * import type { components } from "./generated/loan-score.js";
 * const loan = createServiceClient<components>(client, { name: "loan-score", version: "1.0" });
 * const { outputs } = await loan.consume({ income: 52_000, amount: 12_000 });
 * console.log(outputs.score);
 * ```
 */
export function createServiceClient<C extends ServiceSchemas>(
  client: MlServerClient,
  service: ServiceName,
): ServiceClient<C["schemas"]["InputParameters"], C["schemas"]["OutputParameters"]>;
export function createServiceClient<C extends ServiceSchemas>(
  options: ServiceClientOptions,
): ServiceClient<C["schemas"]["InputParameters"], C["schemas"]["OutputParameters"]>;
export function createServiceClient<C extends ServiceSchemas>(
  clientOrOptions: MlServerClient | ServiceClientOptions,
  service?: ServiceName,
): ServiceClient<C["schemas"]["InputParameters"], C["schemas"]["OutputParameters"]> {
  type Outputs = C["schemas"]["OutputParameters"];
  const given =
    typeof (clientOrOptions as MlServerClient).request === "function" ? (clientOrOptions as MlServerClient) : undefined;
  const { name, version } = given
    ? (service ?? ({} as Partial<ServiceName>))
    : (clientOrOptions as ServiceClientOptions);
  if (!name || !version) throw new InvalidOptionError("createServiceClient needs the service's name and version.");
  // The service's paths are known only from its generated types; calls here are checked by hand.
  let client: unknown = given;
  if (!client) {
    const { name: _name, version: _version, security, ...clientOptions } = clientOrOptions as ServiceClientOptions;
    client = createAuthenticatedClient<Record<string, Record<string, unknown>>>(clientOptions, security);
  }
  const base = `/api/${encodeURIComponent(name)}/${encodeURIComponent(version)}`;
  const label = `${name}/${version}`;
  const call = client as unknown as {
    request(
      method: string,
      path: string,
      init: object,
    ): Promise<{ data?: unknown; error?: unknown; response: Response }>;
  };

  const decode = (raw: RawResult): ServiceResult<Outputs> | ServiceExecutionError => {
    if (raw.success === false) return new ServiceExecutionError(label, raw.errorMessage ?? "", raw.consoleOutput ?? "");
    return {
      outputs: (raw.outputParameters ?? {}) as Outputs,
      consoleOutput: raw.consoleOutput ?? "",
      changedFiles: raw.changedFiles ?? [],
      outputFiles: Object.fromEntries(
        Object.entries(raw.outputFiles ?? {}).map(([file, b64]) => [
          file,
          Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)),
        ]),
      ),
    };
  };

  const send = async (method: string, path: string, operation: string, init: object = {}): Promise<unknown> => {
    const { data, error, response } = await call.request(method, `${base}${path}`, init);
    if (!response.ok) throw apiError(operation, response, error);
    return data;
  };

  const batchStatus = async (id: string): Promise<BatchProgress<Outputs>> => {
    // Path templates, as in the service's swagger, so a generated security map applies.
    const status = (await send("get", "/batch/{executionId}", `Reading batch ${id} of ${label}`, {
      params: { path: { executionId: id }, query: { showPartialResults: true } },
    })) as {
      state: BatchProgress<Outputs>["state"];
      completedItemCount: number;
      totalItemCount: number;
      batchExecutionResults?: RawResult[];
    };
    return {
      state: status.state,
      completed: status.completedItemCount,
      total: status.totalItemCount,
      results: (status.batchExecutionResults ?? []).map(decode),
    };
  };

  const startBatch = async (inputs: unknown[], { parallelCount }: { parallelCount?: number } = {}): Promise<string> => {
    const started = (await send("post", "/batch", `Starting a batch of ${label}`, {
      body: inputs,
      ...(parallelCount && { params: { query: { parallelCount } } }),
    })) as { batchExecutionId: string };
    return started.batchExecutionId;
  };

  const cancel = async (id: string): Promise<void> => {
    await send("delete", "/batch/{executionId}", `Cancelling batch ${id} of ${label}`, {
      params: { path: { executionId: id } },
    });
  };

  return {
    async consume(inputs, { signal } = {}) {
      const result = decode(
        (await send("post", "", `Calling ${label}`, { body: inputs, ...(signal && { signal }) })) as RawResult,
      );
      if (result instanceof ServiceExecutionError) throw result;
      return result;
    },
    startBatch,
    batchStatus,
    async runBatch(
      inputs,
      { parallelCount, intervalMs = 200, onStart, executionId, onProgress, signal, leaveRunningOnAbort = false } = {},
    ) {
      signal?.throwIfAborted();
      const id = executionId ?? (await startBatch(inputs, parallelCount === undefined ? {} : { parallelCount }));
      onStart?.(id);
      try {
        for (;;) {
          const progress = await batchStatus(id).catch((error: unknown) => {
            throw error instanceof NotFoundError ? new BatchCancelledError(label, id, error) : error;
          });
          onProgress?.(progress);
          if (progress.state === "complete") return progress.results;
          await abortable(new Promise((resolve) => setTimeout(resolve, intervalMs)), signal);
        }
      } catch (error) {
        // An abort is a cancellation: the batch stops on the server too (best effort; it may be done).
        if (signal?.aborted && !leaveRunningOnAbort) await cancel(id).catch(() => undefined);
        throw error;
      }
    },
    cancelBatch: cancel,
    async listBatches() {
      return (await send("get", "/batch", `Listing the batches of ${label}`)) as string[];
    },
    async batchFiles(id, index) {
      return (await send(
        "get",
        "/batch/{executionId}/{index}/files",
        `Listing the files of run ${index} of batch ${id} of ${label}`,
        { params: { path: { executionId: id, index } } },
      )) as string[];
    },
    async batchFile(id, index, fileName) {
      const data = await send(
        "get",
        "/batch/{executionId}/{index}/files/{fileName}",
        `Downloading ${fileName} of run ${index} of batch ${id} of ${label}`,
        {
          params: { path: { executionId: id, index, fileName } },
          parseAs: "arrayBuffer",
        },
      );
      return new Uint8Array(data as ArrayBuffer);
    },
  };
}
