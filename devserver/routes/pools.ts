/**
 * A service's dedicated pool of warm shells: its sizes (`InitialPoolSize` shells start at once, up
 * to `MaxPoolSize` run together), its status, and its removal (back to the server's default sizes).
 */
import { poolOf, poolSizes } from "../execution.js";
import { HttpError } from "../http-error.js";
import { existingService, ownedService, serviceKey } from "../state.js";
import type { RouteTable } from "./route.js";

export const poolRoutes: RouteTable = {
  getServicePoolStatus({ state, params }) {
    const service = existingService(state, params);
    const key = serviceKey(service.name, service.version);
    return [
      200,
      [{ ComputeNodeEndpoint: state.server.url, Status: state.poolSizes.has(key) ? "Success" : "NotFound" }],
    ];
  },
  async createOrUpdateServicePool({ state, params, body, user }) {
    const service = ownedService(state, params, user, "change the pool of");
    // Omitted sizes are the server's default pool's, as on ML Server (its appsettings' Pool section).
    const initial = (body.InitialPoolSize as number | undefined) ?? state.limits.pool.initial;
    const max = (body.MaxPoolSize as number | undefined) ?? state.limits.pool.max;
    const budget = state.interpreters.limit;
    for (const [name, size] of [
      ["InitialPoolSize", initial],
      ["MaxPoolSize", max],
    ] as const) {
      if (size > budget) {
        const why =
          `${name} (${size}) is more than the ${budget} interpreters the dev server may run ` +
          `(executionLimits.interpreters, --max-interpreters)`;
        throw new HttpError(400, why, "RequestValidationException");
      }
    }
    if (initial > max) {
      const said = body.MaxPoolSize === undefined ? `the default MaxPoolSize (${max})` : `MaxPoolSize (${max})`;
      throw new HttpError(400, `InitialPoolSize (${initial}) may not exceed ${said}`, "RequestValidationException");
    }
    const key = serviceKey(service.name, service.version);
    const created = !state.poolSizes.has(key);
    state.poolSizes.set(key, { initial, max: Math.max(max, 1) });
    // A Python or R service's shells start now, as ML Server's do; realtime ones have none.
    if (service.runtimeType === "Python" || service.runtimeType === "R")
      (await poolOf(state, service)).resize(poolSizes(state, service));
    return [200, created ? "Created" : "Updated"];
  },
  deleteServicePool({ state, params, user }) {
    const service = ownedService(state, params, user, "remove the pool of");
    const key = serviceKey(service.name, service.version);
    if (!state.poolSizes.delete(key))
      throw new HttpError(404, "this web service has no dedicated pool", "NotFoundException");
    state.pools.get(key)?.resize(state.limits.pool);
    return [200, "Deleted"];
  },
};
