import type { MlServerClient } from "./client.js";
import type { ServiceName } from "./services.js";
import type { components } from "../generated/mlserver.js";
import { apiError, NotFoundError, ServiceExecutionError } from "./core/errors.js";
import { putSessionFiles } from "./remote.js";

type ParameterType = components["schemas"]["ParameterDefinition"]["type"];

/** What to publish: the code, its inputs and outputs by name and type, and optional details. */
export interface PublishOptions {
  name: string;
  version: string;
  /** The code run on each call; inputs are bound as variables, outputs read back by name. */
  code: string;
  inputs?: Record<string, ParameterType>;
  outputs?: Record<string, ParameterType>;
  description?: string;
  /** The consume operation's id in the service's swagger (ML Server's alias). */
  alias?: string;
  /** The language of `code` and `initCode`: default Python. */
  runtimeType?: "Python" | "R";
  initCode?: string;
  outputFileNames?: string[];
  snapshotId?: string;
}

const definitions = (params: Record<string, ParameterType> = {}) =>
  Object.entries(params).map(([name, type]) => ({ name, type }));

function publishBody(options: Partial<PublishOptions>) {
  return {
    ...(options.code !== undefined && { code: options.code }),
    ...(options.inputs && { inputParameterDefinitions: definitions(options.inputs) }),
    ...(options.outputs && { outputParameterDefinitions: definitions(options.outputs) }),
    ...(options.description !== undefined && { description: options.description }),
    ...(options.alias !== undefined && { operationId: options.alias }),
    ...(options.runtimeType !== undefined && { runtimeType: options.runtimeType }),
    ...(options.initCode !== undefined && { initCode: options.initCode }),
    ...(options.outputFileNames && { outputFileNames: options.outputFileNames }),
    ...(options.snapshotId !== undefined && { snapshotId: options.snapshotId }),
  };
}

/**
 * Publishes a web service; resolves to the address to consume it at. An existing name and version
 * is a `ServiceExistsError` (409); a name another user owns, a `ForbiddenError` (403).
 *
 * @example
 * ```ts
 * await publishService(client, {
 *   name: "loan-score", version: "1.0", code: "score = income / amount",
 *   inputs: { income: "numeric", amount: "numeric" }, outputs: { score: "numeric" },
 * });
 * ```
 */
export async function publishService(client: MlServerClient, options: PublishOptions): Promise<string> {
  const { data, error, response } = await client.POST("/services/{name}/{version}", {
    params: { path: { name: options.name, version: options.version } },
    body: { ...publishBody({ runtimeType: "Python", ...options }), code: options.code },
  });
  if (!response.ok) throw apiError(`Publishing ${options.name}/${options.version}`, response, error);
  return data as string;
}

/**
 * A realtime service: a model serialized for ML Server's native scoring (R's `rxSerializeModel`,
 * Python's `rx_serialize_model`), with no code of its own.
 */
export interface RealtimeServiceOptions {
  name: string;
  version: string;
  /** The serialized model's bytes. */
  model: Blob | Uint8Array;
  description?: string;
  /** The consume operation's id in the service's swagger (ML Server's alias). */
  alias?: string;
}

/** The fields of a realtime service's multipart form, as the API names them. */
const asBlob = (model: Blob | Uint8Array): Blob =>
  model instanceof Blob ? model : new Blob([model as Uint8Array<ArrayBuffer>]);

function realtimeFields(fields: Partial<Pick<RealtimeServiceOptions, "model" | "description" | "alias">>) {
  return {
    ...(fields.model !== undefined && { model: asBlob(fields.model) }),
    ...(fields.description !== undefined && { description: fields.description }),
    ...(fields.alias !== undefined && { operationId: fields.alias }),
  };
}

/** The multipart form ML Server takes: the model as a file part, the rest as text. */
function asForm(body: Record<string, unknown>): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(body)) {
    if (value instanceof Blob) form.set(name, value, name);
    else if (typeof value === "string") form.set(name, value);
  }
  return form;
}

/**
 * Publishes a realtime service from a serialized model (a multipart upload); resolves to the
 * address to consume it at. Errors as for {@link publishService}.
 *
 * @example
 * ```ts
 * import { readFile } from "node:fs/promises";
 * await publishRealtimeService(client, { name: "kmeans", version: "1.0", model: await readFile("kmeans.bin") });
 * ```
 */
export async function publishRealtimeService(client: MlServerClient, options: RealtimeServiceOptions): Promise<string> {
  const { data, error, response } = await client.POST("/realtime-services/{name}/{version}", {
    params: { path: { name: options.name, version: options.version } },
    body: { ...realtimeFields(options), model: asBlob(options.model) },
    bodySerializer: asForm,
  });
  if (!response.ok)
    throw apiError(`Publishing the realtime service ${options.name}/${options.version}`, response, error);
  return data as string;
}

/**
 * Changes a realtime service: a new model, description or alias (only what is given); only its
 * publisher may.
 *
 * @example
 * ```ts
 * await updateRealtimeService(client, {
 *   name: "kmeans",
 *   version: "1.0",
 *   model: retrained,
 *   description: "retrained weekly",
 * });
 * ```
 */
export async function updateRealtimeService(
  client: MlServerClient,
  options: ServiceName & Partial<Pick<RealtimeServiceOptions, "model" | "description" | "alias">>,
): Promise<void> {
  const { name, version, ...changes } = options;
  const { error, response } = await client.PATCH("/realtime-services/{name}/{version}", {
    params: { path: { name, version } },
    body: realtimeFields(changes),
    bodySerializer: asForm,
  });
  if (!response.ok) throw apiError(`Updating the realtime service ${name}/${version}`, response, error);
}

/** Changes a published service (only what is given); only its publisher may. */
export async function updateService(
  client: MlServerClient,
  options: ServiceName & Partial<Omit<PublishOptions, "name" | "version">>,
): Promise<void> {
  const { name, version, ...changes } = options;
  const { error, response } = await client.PATCH("/services/{name}/{version}", {
    params: { path: { name, version } },
    body: publishBody(changes),
  });
  if (!response.ok) throw apiError(`Updating ${name}/${version}`, response, error);
}

/** Deletes a published service; only its publisher may. */
export async function deleteService(client: MlServerClient, { name, version }: ServiceName): Promise<void> {
  const { error, response } = await client.DELETE("/services/{name}/{version}", {
    params: { path: { name, version } },
  });
  if (!response.ok) throw apiError(`Deleting ${name}/${version}`, response, error);
}

/** What `publishFromSession` needs: the service, and the setup that builds its starting state. */
export interface PublishFromSessionOptions extends Omit<PublishOptions, "snapshotId"> {
  /**
   * Code (in `runtimeType`'s language, default Python) run once in a fresh session before the
   * snapshot is taken: train a model, load data.
   * The variables it leaves, and the files in the session's working directory, are what every
   * call of the service starts from.
   */
  setupCode: string;
  /** Files put into the session's working directory before `setupCode` runs (name → content). */
  files?: Record<string, Blob | Uint8Array | string>;
  /** The snapshot's label (default: `<name>-<version>`). */
  snapshotName?: string;
}

/** What `publishFromSession` made. */
export interface PublishedFromSession {
  /** The address to consume the service at. */
  url: string;
  /** The snapshot the service starts from; it stays on the server until deleted. */
  snapshotId: string;
  /** What `setupCode` printed. */
  setupOutput: string;
}

/**
 * The publish flow of mrsdeploy and the Python SDK, in one call: create a session (Python, or R
 * with `runtimeType: "R"`), upload
 * `files`, run `setupCode`, take a snapshot, close the session, publish the service from the
 * snapshot. The session is closed whatever happens; if publishing fails, the snapshot is deleted
 * too, so a failure leaves nothing behind. A failing `setupCode` is a `ServiceExecutionError` with
 * its error message and console output.
 *
 * @example
 * ```ts
 * const { url } = await publishFromSession(client, {
 *   name: "rate", version: "1.0",
 *   setupCode: "weights = {'a': 0.25, 'b': 0.75}",
 *   code: "score = weights['a'] * x + weights['b']",
 *   inputs: { x: "numeric" }, outputs: { score: "numeric" },
 * });
 * // The same in R, as mrsdeploy publishes: the snapshot holds the fitted model.
 * await publishFromSession(client, {
 *   name: "stopping", version: "1.0", runtimeType: "R",
 *   setupCode: "fit <- lm(dist ~ speed, cars)",
 *   code: "dist <- predict(fit, data.frame(speed = speed))",
 *   inputs: { speed: "vector" }, outputs: { dist: "vector" },
 * });
 * ```
 */
export async function publishFromSession(
  client: MlServerClient,
  options: PublishFromSessionOptions,
): Promise<PublishedFromSession> {
  const label = `${options.name}/${options.version}`;
  const runtimeType = options.runtimeType ?? "Python";
  const created = await client.POST("/sessions", { body: { name: `publish ${label}`, runtimeType } });
  if (!created.response.ok) throw apiError(`Creating a session to publish ${label}`, created.response, created.error);
  const id = created.data!.sessionId!;
  const path = { params: { path: { id } } };
  let snapshotId: string;
  let setupOutput: string;
  try {
    await putSessionFiles(client, {
      sessionId: id,
      files: options.files ?? {},
      purpose: `to the session for ${label}`,
    });
    const run = await client.POST("/sessions/{id}/execute", { ...path, body: { code: options.setupCode } });
    if (!run.response.ok) throw apiError(`Running the setup code of ${label}`, run.response, run.error);
    setupOutput = run.data?.consoleOutput ?? "";
    if (!run.data?.success)
      throw new ServiceExecutionError(`${label} (setup code)`, run.data?.errorMessage ?? "", setupOutput);
    const snapshot = await client.POST("/sessions/{id}/snapshot", {
      ...path,
      body: { name: options.snapshotName ?? `${options.name}-${options.version}` },
    });
    if (!snapshot.response.ok) throw apiError(`Taking the snapshot of ${label}`, snapshot.response, snapshot.error);
    snapshotId = snapshot.data!.snapshotId!;
  } finally {
    await client.DELETE("/sessions/{id}", path).catch(() => undefined);
  }
  try {
    const url = await publishService(client, { ...options, runtimeType, snapshotId });
    return { url, snapshotId, setupOutput };
  } catch (error) {
    await client.DELETE("/snapshots/{id}", { params: { path: { id: snapshotId } } }).catch(() => undefined);
    throw error;
  }
}

type WebService = components["schemas"]["WebService"];

/** Filters of {@link listServices}; each narrows the list. */
export interface ServiceFilter {
  /** Only versions of this service. */
  name?: string;
  /** Only services this account published. */
  publishedBy?: string;
  runtimeType?: "R" | "Python" | "Realtime";
}

/**
 * The published services (every version), narrowed by `filter`.
 *
 * @example
 * ```ts
 * const mine = await listServices(client, { publishedBy: "admin", runtimeType: "Python" });
 * ```
 */
export async function listServices(client: MlServerClient, filter: ServiceFilter = {}): Promise<WebService[]> {
  const { data, error, response } = filter.name
    ? await client.GET("/services/{name}", { params: { path: { name: filter.name } } })
    : await client.GET("/services");
  if (!response.ok)
    throw apiError(filter.name ? `Listing the versions of ${filter.name}` : "Listing services", response, error);
  return (data ?? []).filter(
    (s) =>
      (!filter.publishedBy || s.versionPublishedBy === filter.publishedBy) &&
      (!filter.runtimeType || s.runtimeType === filter.runtimeType),
  );
}

/**
 * One published version; a `NotFoundError` when there is none.
 *
 * @example
 * ```ts
 * const { inputParameterDefinitions } = await getService(client, { name: "loan-score", version: "1.0" });
 * ```
 */
export async function getService(client: MlServerClient, { name, version }: ServiceName): Promise<WebService> {
  const { data, error, response } = await client.GET("/services/{name}/{version}", {
    params: { path: { name, version } },
  });
  if (!response.ok) throw apiError(`Reading ${name}/${version}`, response, error);
  const service = data?.[0];
  if (!service) throw new NotFoundError(`Reading ${name}/${version}`, response, "no such service version");
  return service;
}
