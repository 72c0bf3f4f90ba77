/** `/computenodes`: the compute nodes the web node knows (changes need the admin role). */
import { HttpError } from "../http-error.js";
import { isAdmin } from "../state.js";
import type { RouteContext, RouteTable } from "./route.js";

/** The entries of a compute-node change, checked: admins only, each `http(s)://host:port` or a port range. */
function entries({ state, body, user }: RouteContext): string[] {
  if (!isAdmin(state, user))
    throw new HttpError(403, "changing compute nodes needs the admin role", "ForbiddenException");
  const list = body.entries as string[];
  const bad = list.filter((e) => !/^https?:\/\/[^\s/:]+(:\d{1,5}(-\d{1,5})?)?\/?$/.test(e));
  if (bad.length > 0)
    throw new HttpError(
      400,
      `not a compute node address (http://host:port or http://host:port1-port2): ${bad.join(", ")}`,
      "RequestValidationException",
    );
  return list;
}

export const computeNodeRoutes: RouteTable = {
  getComputeNodes: ({ state }) => [200, { computeNodes: state.computeNodes }],
  setComputeNodes(ctx) {
    ctx.state.computeNodes = [...new Set(entries(ctx))];
    return [200];
  },
  addComputeNode(ctx) {
    ctx.state.computeNodes = [...new Set([...ctx.state.computeNodes, ...entries(ctx)])];
    return [200];
  },
  removeComputeNode(ctx) {
    const list = entries(ctx);
    const unknown = list.filter((e) => !ctx.state.computeNodes.includes(e));
    if (unknown.length > 0)
      throw new HttpError(400, `not in the list of compute nodes: ${unknown.join(", ")}`, "RequestValidationException");
    ctx.state.computeNodes = ctx.state.computeNodes.filter((e) => !list.includes(e));
    return [200];
  },
};
