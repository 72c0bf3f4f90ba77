import { abortable } from "./core/fetch.js";
import { createAuthenticatedClient, type MlServerClientOptions } from "./client.js";
import type { OperationSecurityMap } from "./auth/security.js";
import { apiError, InvalidOptionError, ServiceExecutionError } from "./core/errors.js";

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
  state: "pending" | "inProgress" | "ready" | "complete";
  completed: number;
  total: number;
  /** The runs finished so far (all of them once complete), failures included as errors. */
  results: (ServiceResult<Outputs> | ServiceExecutionError)[];
}

/** Options of {@link createServiceClient}: the client's options, plus the service. */
export interface ServiceClientOptions extends MlServerClientOptions {
  name: string;
  version: string;
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
   * const results = await scorer.runBatch(rows, { onStart: (id) => saveSomewhere(id), onProgress: (p) => console.log(p.completed) });
   * // later, in another process: the same results, without starting again
   * const again = await scorer.runBatch([], { executionId: savedId });
   * ```
   */
  runBatch(inputs: Inputs[], options?: RunBatchOptions<Outputs>): Promise<(ServiceResult<Outputs> | ServiceExecutionError)[]>;
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
  /** Stops the polling; the batch goes on on the server (`cancelBatch` stops it). */
  signal?: AbortSignal;
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
 * (`npx mlserver generate --server <url> --service <name>@<version> -o <file>`). Tokens are
 * renewed as for any call, including during long batches.
 *
 * @example
 * ```ts
 * import type { components } from "./generated/loan-score.js";
 * const loan = createServiceClient<components>({ baseUrl, auth, name: "loan-score", version: "1.0" });
 * const { outputs } = await loan.consume({ income: 52_000, amount: 12_000 });
 * console.log(outputs.score);
 * ```
 */
export function createServiceClient<C extends ServiceSchemas>(options: ServiceClientOptions): ServiceClient<C["schemas"]["InputParameters"], C["schemas"]["OutputParameters"]> {
  type Outputs = C["schemas"]["OutputParameters"];
  const { name, version, security, ...clientOptions } = options;
  if (!name || !version) throw new InvalidOptionError("createServiceClient needs the service's name and version.");
  // The service's paths are known only from its generated types; calls here are checked by hand.
  const client = createAuthenticatedClient<Record<string, Record<string, unknown>>>(clientOptions, security);
  const base = `/api/${encodeURIComponent(name)}/${encodeURIComponent(version)}`;
  const label = `${name}/${version}`;
  const call = client as unknown as {
    request(method: string, path: string, init: object): Promise<{ data?: unknown; error?: unknown; response: Response }>;
  };

  const decode = (raw: RawResult): ServiceResult<Outputs> | ServiceExecutionError => {
    if (raw.success === false) return new ServiceExecutionError(label, raw.errorMessage ?? "", raw.consoleOutput ?? "");
    return {
      outputs: (raw.outputParameters ?? {}) as Outputs,
      consoleOutput: raw.consoleOutput ?? "",
      changedFiles: raw.changedFiles ?? [],
      outputFiles: Object.fromEntries(Object.entries(raw.outputFiles ?? {}).map(([file, b64]) => [file, Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))])),
    };
  };

  const send = async (method: string, path: string, operation: string, init: object = {}): Promise<unknown> => {
    const { data, error, response } = await call.request(method, `${base}${path}`, init);
    if (!response.ok) throw apiError(`${operation} of ${label}`, response, error);
    return data;
  };

  const batchStatus = async (id: string): Promise<BatchProgress<Outputs>> => {
    // Path templates, as in the service's swagger, so a generated security map applies.
    const status = (await send("get", "/batch/{executionId}", "Reading a batch", { params: { path: { executionId: id }, query: { showPartialResults: true } } })) as {
      state: BatchProgress<Outputs>["state"];
      completedItemCount: number;
      totalItemCount: number;
      batchExecutionResults?: RawResult[];
    };
    return { state: status.state, completed: status.completedItemCount, total: status.totalItemCount, results: (status.batchExecutionResults ?? []).map(decode) };
  };

  const startBatch = async (inputs: unknown[], { parallelCount }: { parallelCount?: number } = {}): Promise<string> => {
    const started = (await send("post", "/batch", "Starting a batch", { body: inputs, ...(parallelCount && { params: { query: { parallelCount } } }) })) as { batchExecutionId: string };
    return started.batchExecutionId;
  };

  return {
    async consume(inputs, { signal } = {}) {
      const result = decode((await send("post", "", "Consuming", { body: inputs, ...(signal && { signal }) })) as RawResult);
      if (result instanceof ServiceExecutionError) throw result;
      return result;
    },
    startBatch,
    batchStatus,
    async runBatch(inputs, { parallelCount, intervalMs = 200, onStart, executionId, onProgress, signal } = {}) {
      signal?.throwIfAborted();
      const id = executionId ?? (await startBatch(inputs, parallelCount === undefined ? {} : { parallelCount }));
      onStart?.(id);
      for (;;) {
        const progress = await batchStatus(id);
        onProgress?.(progress);
        if (progress.state === "complete") return progress.results;
        // An abort stops the polling; the batch itself goes on on the server (cancelBatch stops it).
        await abortable(new Promise((resolve) => setTimeout(resolve, intervalMs)), signal);
      }
    },
    async cancelBatch(id) {
      await send("delete", "/batch/{executionId}", "Cancelling a batch", { params: { path: { executionId: id } } });
    },
    async listBatches() {
      return (await send("get", "/batch", "Listing batches")) as string[];
    },
    async batchFiles(id, index) {
      return (await send("get", "/batch/{executionId}/{index}/files", "Listing a batch run's files", { params: { path: { executionId: id, index } } })) as string[];
    },
    async batchFile(id, index, fileName) {
      const data = await send("get", "/batch/{executionId}/{index}/files/{fileName}", "Downloading a batch run's file", {
        params: { path: { executionId: id, index, fileName } },
        parseAs: "arrayBuffer",
      });
      return new Uint8Array(data as ArrayBuffer);
    },
  };
}
