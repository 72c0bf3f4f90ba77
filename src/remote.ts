/**
 * Remote execution, as mrsdeploy's `remoteExecute` and `remoteScript` gave R users: run code in a
 * session on the server (a new one, closed afterwards, or one of yours, left open), with its
 * console output streamed as it is printed, files put before and fetched after, and a snapshot of
 * what it left. Whatever it opened is closed, after a failure or an abort too.
 */
import type { MlServerClient } from "./client.js";
import type { components } from "../generated/mlserver.js";
import { checkFileName } from "./file-names.js";
import { apiError, NotFoundError, RemoteExecutionError } from "./core/errors.js";
import { delay } from "./core/fetch.js";

/** What to run, where, and what to bring back. */
export interface RemoteExecuteOptions {
  /** The code (a script's text). */
  code: string;
  /** Run in this existing session (left open). Default: a new session, closed afterwards. */
  sessionId?: string;
  /** The new session's runtime (default Python). */
  runtimeType?: "Python" | "R";
  /** Files put into the session's working directory first (name → content). */
  files?: Record<string, Blob | Uint8Array | string>;
  /** Variables set before the code runs. */
  inputs?: Record<string, unknown>;
  /** Variables read back after it ran. */
  outputs?: string[];
  /** Files fetched after the run: these names, or `"changed"` for every file the run wrote (default none). */
  getFiles?: string[] | "changed";
  /** Take a snapshot with this name after a successful run. */
  snapshotName?: string;
  /** Console output as it is printed (polled every `pollMs` while the code runs). */
  onOutput?: (text: string) => void;
  /** Default 250 ms. */
  pollMs?: number;
  /** Aborting cancels the run on the server, closes what was opened, and rejects with the reason. */
  signal?: AbortSignal;
}

/**
 * What a successful remote run came back with. A failed run is a `RemoteExecutionError` with
 * ML Server's message, the console output and the requested files it did or did not leave.
 */
export interface RemoteExecution {
  consoleOutput: string;
  outputs: Record<string, unknown>;
  /** The names of the files the run wrote, as the server gave them: not checked, maybe not plain names. */
  changedFiles: string[];
  /**
   * The files fetched (see `getFiles`), by name as the server gave it. Each name is checked before
   * any file is fetched: one that is not a plain file name (`../x`, an absolute path, `..`) is an
   * `UnsafeFileNameError`. Write them with `saveServerFiles(folder, run.files)`, which checks
   * again and never writes through a link, rather than `writeFile(name, ...)`.
   */
  files: Record<string, Uint8Array>;
  /** The snapshot taken (see `snapshotName`), after a successful run. */
  snapshotId?: string;
}

/**
 * Uploads files into a session's working directory, each under its name (mrsdeploy's
 * `putLocalFile`); `purpose` says in errors what the upload was for.
 *
 * @example
 * ```ts
 * await putSessionFiles(client, { sessionId, files: { "data.csv": await readFile("data.csv") } });
 * ```
 */
export async function putSessionFiles(
  client: MlServerClient,
  {
    sessionId,
    files,
    purpose = "into the session",
  }: { sessionId: string; files: Record<string, Blob | Uint8Array | string>; purpose?: string },
): Promise<void> {
  for (const [fileName, content] of Object.entries(files)) {
    const file = content instanceof Blob ? content : new Blob([content as BlobPart]);
    const uploaded = await client.POST("/sessions/{id}/files", {
      params: { path: { id: sessionId } },
      body: { file },
      // The part's file name is the file's name in the session.
      bodySerializer: (body) => {
        const form = new FormData();
        form.append("file", body.file, fileName);
        return form;
      },
    });
    if (!uploaded.response.ok) throw apiError(`Uploading ${fileName} ${purpose}`, uploaded.response, uploaded.error);
  }
}

/**
 * A file from a session's working directory (mrsdeploy's `getRemoteFile`); a missing one is a
 * `NotFoundError`.
 *
 * @example
 * ```ts
 * await writeFile("model.pkl", await getSessionFile(client, { sessionId, fileName: "model.pkl" }));
 * ```
 */
export async function getSessionFile(
  client: MlServerClient,
  { sessionId, fileName }: { sessionId: string; fileName: string },
): Promise<Uint8Array> {
  const got = await client.GET("/sessions/{id}/files/{fileName}", {
    params: { path: { id: sessionId, fileName } },
    parseAs: "arrayBuffer",
  });
  if (!got.response.ok) throw apiError(`Fetching ${fileName} from session ${sessionId}`, got.response, got.error);
  return new Uint8Array(got.data as unknown as ArrayBuffer);
}

/**
 * Puts an object into a session's workspace under `name` (mrsdeploy's `putLocalObject`): the bytes
 * of a Python pickle (or dill) in a Python session, of R's `serialize()` or `saveRDS()` in an R one.
 *
 * @example
 * ```ts
 * await putWorkspaceObject(client, { sessionId, name: "weights", bytes: pickledBytes });
 * ```
 */
export async function putWorkspaceObject(
  client: MlServerClient,
  { sessionId, name, bytes }: { sessionId: string; name: string; bytes: Blob | Uint8Array },
): Promise<void> {
  const put = await client.POST("/sessions/{id}/workspace/{objectName}", {
    params: { path: { id: sessionId, objectName: name } },
    body: bytes instanceof Blob ? bytes : new Blob([bytes as BlobPart]),
    bodySerializer: (body) => body,
    headers: { "content-type": "application/octet-stream" },
  });
  if (!put.response.ok) throw apiError(`Putting ${name} into session ${sessionId}`, put.response, put.error);
}

/**
 * An object of a session's workspace, serialised as the session's runtime does it (mrsdeploy's
 * `getRemoteObject`); a missing one is a `NotFoundError`.
 *
 * @example
 * ```ts
 * const fit = await getWorkspaceObject(client, { sessionId, name: "fit" }); // R: unserialize() these bytes
 * ```
 */
export async function getWorkspaceObject(
  client: MlServerClient,
  { sessionId, name }: { sessionId: string; name: string },
): Promise<Uint8Array> {
  const got = await client.GET("/sessions/{id}/workspace/{objectName}", {
    params: { path: { id: sessionId, objectName: name } },
    parseAs: "arrayBuffer",
  });
  if (!got.response.ok) throw apiError(`Getting ${name} from session ${sessionId}`, got.response, got.error);
  return new Uint8Array(got.data as unknown as ArrayBuffer);
}

/**
 * Runs code in a session on the server. Code that fails is a `RemoteExecutionError` (its message,
 * console output, and the requested files it left or did not leave); a server or network failure
 * is the usual `ApiError` or `NetworkError`.
 *
 * @example
 * ```ts
 * try {
 *   const run = await remoteExecute(client, {
 *     code: await readFile("train.py", "utf8"),
 *     files: { "data.csv": await readFile("data.csv") },
 *     getFiles: ["model.pkl"],
 *     onOutput: (text) => process.stdout.write(text),
 *   });
 *   await saveServerFiles("out", run.files);
 * } catch (error) {
 *   if (!(error instanceof RemoteExecutionError)) throw error;
 *   console.error(error.errorMessage, "missing:", error.missingFiles);
 * }
 * ```
 */
export async function remoteExecute(client: MlServerClient, options: RemoteExecuteOptions): Promise<RemoteExecution> {
  const { signal } = options;
  signal?.throwIfAborted();
  let id = options.sessionId;
  const opened = id === undefined;
  if (opened) {
    const created = await client.POST("/sessions", {
      body: { name: "remote execution", runtimeType: options.runtimeType ?? "Python" },
    });
    if (!created.response.ok)
      throw apiError("Creating a session for remote execution", created.response, created.error);
    id = created.data!.sessionId!;
  }
  const path = { params: { path: { id: id! } } };
  try {
    await putSessionFiles(client, { sessionId: id!, files: options.files ?? {}, purpose: "for remote execution" });
    signal?.throwIfAborted();

    // The run blocks its request; its output is read beside it, and only what is new is passed on.
    let shown = 0;
    const show = (text: string) => {
      if (text.length > shown) options.onOutput?.(text.slice(shown));
      shown = Math.max(shown, text.length);
    };
    let running = true;
    const onAbort = () => void client.POST("/sessions/{id}/cancel", path).catch(() => undefined);
    signal?.addEventListener("abort", onAbort, { once: true });
    const polling = (async () => {
      while (running && options.onOutput) {
        await delay(options.pollMs ?? 250, signal);
        if (!running) break;
        const { data } = await client.GET("/sessions/{id}/console-output", path).catch(() => ({ data: undefined }));
        if (running && data?.consoleOutput) show(data.consoleOutput);
      }
    })();
    // Any JSON value may be an input; the generated type spells JSON out narrowly.
    const inputParameters = Object.entries(options.inputs ?? {}).map(([name, value]) => ({
      name,
      value,
    })) as NonNullable<components["schemas"]["ExecuteRequest"]["inputParameters"]>;
    const run = await client
      .POST("/sessions/{id}/execute", {
        ...path,
        body: {
          code: options.code,
          ...(inputParameters.length > 0 && { inputParameters }),
          ...(options.outputs && { outputParameters: options.outputs }),
        },
      })
      .finally(() => {
        running = false;
        signal?.removeEventListener("abort", onAbort);
      });
    await polling;
    if (!run.response.ok) throw apiError("Running code remotely", run.response, run.error);
    const result = run.data!;
    show(result.consoleOutput ?? "");
    signal?.throwIfAborted();

    const changedFiles = result.changedFiles ?? [];
    const files: Record<string, Uint8Array> = {};
    const wanted = options.getFiles === "changed" ? changedFiles : (options.getFiles ?? []);
    // Files of the session's working directory have plain names; `..` would even fetch another URL.
    for (const fileName of wanted) checkFileName(fileName, options.getFiles === "changed" ? "The server" : "getFiles");
    const succeeded = result.success === true;
    const missingFiles: string[] = [];
    for (const fileName of wanted) {
      try {
        files[fileName] = await getSessionFile(client, { sessionId: id!, fileName });
      } catch (error) {
        // A failed script often stops before writing what was asked for: its own error says why.
        if (succeeded || !(error instanceof NotFoundError)) throw error;
        missingFiles.push(fileName);
      }
    }
    if (!succeeded) {
      throw new RemoteExecutionError({
        errorMessage: result.errorMessage ?? "",
        consoleOutput: result.consoleOutput ?? "",
        changedFiles,
        files,
        missingFiles,
      });
    }
    let snapshotId: string | undefined;
    if (options.snapshotName !== undefined) {
      const snapshot = await client.POST("/sessions/{id}/snapshot", { ...path, body: { name: options.snapshotName } });
      if (!snapshot.response.ok)
        throw apiError("Taking a snapshot after remote execution", snapshot.response, snapshot.error);
      snapshotId = snapshot.data!.snapshotId!;
    }
    return {
      consoleOutput: result.consoleOutput ?? "",
      outputs: Object.fromEntries((result.outputParameters ?? []).map((p) => [p.name, p.value])),
      changedFiles,
      files,
      ...(snapshotId !== undefined && { snapshotId }),
    };
  } finally {
    // By force: after an abort the run may still be stopping.
    if (opened) await client.DELETE("/sessions/{id}/force", path).catch(() => undefined);
  }
}
