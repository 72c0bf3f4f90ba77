import type { MlServerClient } from "./client.js";
import type { components } from "../generated/mlserver.js";
import { apiError } from "./errors.js";

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
  /** Default Python. */
  runtimeType?: "Python" | "R";
  initCode?: string;
  outputFileNames?: string[];
  snapshotId?: string;
}

const definitions = (params: Record<string, ParameterType> = {}) => Object.entries(params).map(([name, type]) => ({ name, type }));

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

/** Changes a published service (only what is given); only its publisher may. */
export async function updateService(client: MlServerClient, name: string, version: string, changes: Partial<Omit<PublishOptions, "name" | "version">>): Promise<void> {
  const { error, response } = await client.PATCH("/services/{name}/{version}", { params: { path: { name, version } }, body: publishBody(changes) });
  if (!response.ok) throw apiError(`Updating ${name}/${version}`, response, error);
}

/** Deletes a published service; only its publisher may. */
export async function deleteService(client: MlServerClient, name: string, version: string): Promise<void> {
  const { error, response } = await client.DELETE("/services/{name}/{version}", { params: { path: { name, version } } });
  if (!response.ok) throw apiError(`Deleting ${name}/${version}`, response, error);
}
