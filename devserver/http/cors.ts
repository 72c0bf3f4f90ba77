/** CORS as ML Server's `appsettings.json` configures it: listed origins only. */
import type { IncomingMessage } from "node:http";

/** What a preflight allows: the API's methods, and the headers its calls carry. */
export const PREFLIGHT_HEADERS = {
  "access-control-allow-methods": "GET, POST, PUT, PATCH, DELETE",
  "access-control-allow-headers": "Authorization, Content-Type",
  "access-control-max-age": "600",
};

/** The dev server's `cors` option, as ML Server's `"CORS": { "Enabled": true, "Origins": [...] }`. */
export interface CorsSettings {
  /** Default true once `cors` is given. */
  enabled?: boolean;
  /** Exact `scheme://host:port` origins, or `*` for any. */
  origins: string[];
}

/** Whether CORS is on at all. */
export const corsEnabled = (cors: CorsSettings | undefined): cors is CorsSettings =>
  cors !== undefined && cors.enabled !== false;

/** The CORS headers of an answer to `req`: the origin echoed when it is allowed, `Vary: Origin` whenever CORS is on. */
export function corsHeaders(req: IncomingMessage, cors: CorsSettings | undefined): Record<string, string> {
  if (!corsEnabled(cors)) return {};
  const origin = req.headers.origin;
  if (!origin || !(cors.origins.includes(origin) || cors.origins.includes("*"))) return { vary: "Origin" };
  return {
    "access-control-allow-origin": origin,
    vary: "Origin",
    "access-control-expose-headers": "WWW-Authenticate, Retry-After",
  };
}

/** Whether `req` is a CORS preflight the server should answer. */
export function isPreflight(req: IncomingMessage, cors: CorsSettings | undefined): boolean {
  return req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined && corsEnabled(cors);
}
