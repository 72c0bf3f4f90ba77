import type { Middleware } from "openapi-fetch";
import type { OperationSecurityMap } from "../codegen/security.js";
import { debug } from "../log.js";
import { assertCredentialTarget, parseAllowedOrigins } from "./origins.js";
import type { AuthContext, AuthProvider, FetchLike } from "./provider.js";

/** Options of {@link authMiddleware}. */
export interface AuthMiddlewareOptions {
  /**
   * The only origins that receive credentials, e.g. `["https://mlserver.example.com:12800"]`.
   * A request elsewhere fails before it is sent. An entry that is not an origin fails here.
   */
  allowedOrigins: readonly string[];
  /** Allow credentials over plain `http://` to hosts that are not loopback. Default false; avoid it. */
  allowInsecureHttp?: boolean;
  /**
   * The generated security map (`*.security.ts`). Operations whose security is `[]` (such as
   * `POST /login`) get no credentials. Without a map, every request is authorized.
   */
  security?: OperationSecurityMap;
}

/**
 * An openapi-fetch middleware that authorizes requests with `provider`, and on a 401 lets the
 * provider refresh and resends the request once, body included.
 *
 * The resend goes straight to the client's `fetch`, so other middlewares' `onRequest` does not run
 * for it, and bodies are buffered once more (a clone is kept until the response arrives).
 *
 * @example
 * ```ts
 * import createClient from "openapi-fetch";
 * const client = createClient<paths>({ baseUrl: "https://api.example.com" });
 * client.use(authMiddleware(bearer(process.env.TOKEN!), { allowedOrigins: ["https://api.example.com"] }));
 * ```
 */
export function authMiddleware(provider: AuthProvider, options: AuthMiddlewareOptions): Middleware {
  const allowedOrigins = parseAllowedOrigins(options.allowedOrigins);
  const allowInsecureHttp = options.allowInsecureHttp === true;
  const security = options.security;
  /** Per request id: a pristine copy to resend (or the request itself when it has no body). */
  const resendable = new Map<string, Request>();

  const contextOf = (request: Request, baseUrl: string, fetchFn: FetchLike): AuthContext => ({
    baseUrl,
    fetch: fetchFn,
    signal: request.signal,
    allowInsecureHttp,
  });

  return {
    async onRequest({ request, schemaPath, id, options: clientOptions }) {
      const alternatives = security?.[schemaPath]?.[request.method.toLowerCase()];
      if (alternatives !== undefined && alternatives.length === 0) return undefined;
      assertCredentialTarget(new URL(request.url), allowedOrigins, allowInsecureHttp);
      // A copy is kept only when a resend is possible, and only a request with a body needs one:
      // a body can be read once, a bodiless request can be reused.
      if (provider.onUnauthorized) resendable.set(id, request.body === null ? request : request.clone());
      await provider.authorize(request, contextOf(request, clientOptions.baseUrl, clientOptions.fetch));
      return request;
    },

    async onResponse({ request, response, id, schemaPath, options: clientOptions }) {
      const copy = resendable.get(id);
      resendable.delete(id);
      if (!copy || response.status !== 401 || !provider.onUnauthorized) return undefined;
      const context = contextOf(request, clientOptions.baseUrl, clientOptions.fetch);
      if (!(await provider.onUnauthorized(request, response, context))) return undefined;
      // The path template, not the URL: a URL may carry a token (e.g. the path form of revoke).
      debug(`401 from ${request.method} ${schemaPath}: resending once`);
      await response.body?.cancel();
      const retry = copy === request ? new Request(request) : copy;
      await provider.authorize(retry, context);
      return clientOptions.fetch(retry);
    },

    onError({ id }) {
      resendable.delete(id);
      return undefined;
    },
  };
}
