/**
 * A web service's dedicated pool, as ML Server keeps it: warm shells that ran the service's init
 * code, `initialSize` started at once and at most `maxSize` running together.
 */
import type { MlServerClient } from "./client.js";
import type { components } from "../generated/mlserver.js";
import { apiError } from "./core/errors.js";
import type { ServiceName } from "./services.js";

/** The sizes of a service's dedicated pool. */
export interface ServicePoolSizes {
  /** Shells started at once (at most `maxSize`). */
  initialSize: number;
  /** Shells that may run at once. */
  maxSize: number;
}

/** Where a service's pool stands on each compute node. */
export type ServicePoolStatus = {
  computeNode: string;
  status: NonNullable<components["schemas"]["ServicePoolStatusResponse"]["Status"]>;
}[];

/**
 * Creates or resizes a service's dedicated pool; only the service's publisher may. Resolves to
 * `Created` or `Updated`, as the server says.
 *
 * @example
 * ```ts
 * await setServicePool(client, { name: "loan-score", version: "1.0", initialSize: 2, maxSize: 8 });
 * ```
 */
export async function setServicePool(
  client: MlServerClient,
  { name, version, ...sizes }: ServiceName & ServicePoolSizes,
): Promise<string> {
  const { data, error, response } = await client.POST("/services/{name}/{version}/pool", {
    params: { path: { name, version } },
    body: { InitialPoolSize: sizes.initialSize, MaxPoolSize: sizes.maxSize },
  });
  if (!response.ok) throw apiError(`Setting the pool of ${name}/${version}`, response, error);
  return String(data);
}

/**
 * Where a service's dedicated pool stands on each compute node (`NotFound` where it has none).
 *
 * @example
 * ```ts
 * for (const { computeNode, status } of await servicePoolStatus(client, { name: "loan-score", version: "1.0" }))
 *   console.log(computeNode, status);
 * ```
 */
export async function servicePoolStatus(
  client: MlServerClient,
  { name, version }: ServiceName,
): Promise<ServicePoolStatus> {
  const { data, error, response } = await client.GET("/services/{name}/{version}/pool", {
    params: { path: { name, version } },
  });
  if (!response.ok) throw apiError(`Reading the pool of ${name}/${version}`, response, error);
  return (data ?? []).map((entry) => ({
    computeNode: entry.ComputeNodeEndpoint ?? "",
    status: entry.Status ?? "NotFound",
  }));
}

/**
 * Removes a service's dedicated pool (the service goes back to the server's default pool); only
 * its publisher may. A service without one is a `NotFoundError`.
 *
 * @example
 * ```ts
 * await deleteServicePool(client, { name: "loan-score", version: "1.0" });
 * ```
 */
export async function deleteServicePool(client: MlServerClient, { name, version }: ServiceName): Promise<void> {
  const { error, response } = await client.DELETE("/services/{name}/{version}/pool", {
    params: { path: { name, version } },
  });
  if (!response.ok) throw apiError(`Removing the pool of ${name}/${version}`, response, error);
}
