/** `GET /status`: the web node's health, as ML Server reports it. */
import type { RouteTable } from "./route.js";

export const statusRoutes: RouteTable = {
  status: () => [
    200,
    {
      statusCode: "pass",
      details: { server: "mlserver-client dev server" },
      components: {
        authentication: { statusCode: "pass", details: { type: "local" }, components: null },
        database: { statusCode: "pass", details: { type: "in-memory" }, components: null },
      },
    },
  ],
};
