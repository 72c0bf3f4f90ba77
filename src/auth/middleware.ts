import type { Middleware } from "openapi-fetch";
import type { OperationSecurityMap, SecurityAlternative } from "../codegen/security.js";
import { MissingCredentialsError } from "../errors.js";
import { debug } from "../log.js";
import { assertCredentialTarget, parseAllowedOrigins } from "./origins.js";
import { isAuthProvider, type AuthContext, type AuthOption, type AuthProvider, type FetchLike } from "./provider.js";

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
 * An openapi-fetch middleware that authorizes requests, and on a 401 lets the providers refresh
 * and resends the request once, body included.
 *
 * With one provider, every operation that needs credentials gets them from it. With providers
 * keyed by scheme name, each operation gets exactly the first alternative of its `security` whose
 * schemes all have providers; if none has, the call fails before anything is sent.
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
export function authMiddleware(auth: AuthOption, options: AuthMiddlewareOptions): Middleware {
  const allowedOrigins = parseAllowedOrigins(options.allowedOrigins);
  const allowInsecureHttp = options.allowInsecureHttp === true;
  const security = options.security;
  const choose = chooser(auth);
  /** Origins already found fit for credentials; a refusal is checked (and thrown) afresh each time. */
  const allowedTargets = new Set<string>();
  const checkTarget = (url: string): void => {
    // A Request's URL is already normalized and holds no credentials, so its origin is a prefix.
    const end = url.indexOf("/", url.indexOf("//") + 2);
    const origin = end < 0 ? url : url.slice(0, end);
    if (allowedTargets.has(origin)) return;
    assertCredentialTarget(new URL(origin), allowedOrigins, allowInsecureHttp);
    if (allowedTargets.size < 100) allowedTargets.add(origin);
  };
  /** Per request id: the providers used, and a pristine copy to resend. */
  const resendable = new Map<string, { providers: readonly AuthProvider[]; copy: Request }>();

  const contextOf = (request: Request, baseUrl: string, fetchFn: FetchLike): AuthContext => ({
    baseUrl,
    fetch: fetchFn,
    signal: request.signal,
    allowInsecureHttp,
  });

  const authorize = async (request: Request, providers: readonly AuthProvider[], context: AuthContext): Promise<Request> => {
    let current = request;
    for (const provider of providers) current = (await provider.authorize(current, context)) ?? current;
    return current;
  };

  return {
    async onRequest({ request, schemaPath, id, options: clientOptions }) {
      const method = request.method.toLowerCase();
      const providers = choose(security?.[schemaPath]?.[method], `${request.method} ${schemaPath}`);
      if (providers.length === 0) return undefined;
      checkTarget(request.url);
      // A copy is kept only when a resend is possible; a bodiless request can be rebuilt from itself.
      if (providers.some((p) => p.onUnauthorized)) {
        resendable.set(id, { providers, copy: request.body === null ? request : request.clone() });
      }
      return authorize(request, providers, contextOf(request, clientOptions.baseUrl, clientOptions.fetch));
    },

    async onResponse({ request, response, id, schemaPath, options: clientOptions }) {
      const entry = resendable.get(id);
      resendable.delete(id);
      if (!entry || response.status !== 401) return undefined;
      const context = contextOf(request, clientOptions.baseUrl, clientOptions.fetch);
      const verdicts = await Promise.all(entry.providers.map((p) => p.onUnauthorized?.(request, response, context) ?? false));
      if (!verdicts.some(Boolean)) return undefined;
      // The path template, not the URL: a URL may carry a secret (a token or an API key).
      debug(`401 from ${request.method} ${schemaPath}: resending once`);
      await response.body?.cancel();
      const retry = entry.copy.body === null ? new Request(entry.copy) : entry.copy;
      return clientOptions.fetch(await authorize(retry, entry.providers, context));
    },

    onError({ id }) {
      resendable.delete(id);
      return undefined;
    },
  };
}

/** Decides, per operation, which providers authorize it. */
function chooser(auth: AuthOption): (alternatives: readonly SecurityAlternative[] | undefined, operation: string) => readonly AuthProvider[] {
  if (isAuthProvider(auth)) {
    const single = [auth];
    // Undeclared security is taken as "needs credentials": sending none would only fail later.
    return (alternatives) => (alternatives !== undefined && alternatives.length === 0 ? [] : single);
  }
  const names = Object.keys(auth);
  return (alternatives, operation) => {
    // With providers by scheme, only what the spec asks for is sent.
    if (alternatives === undefined || alternatives.length === 0) return [];
    for (const alternative of alternatives) {
      const schemes = Object.keys(alternative);
      if (schemes.every((scheme) => auth[scheme] !== undefined)) return schemes.map((scheme) => auth[scheme]!);
    }
    throw new MissingCredentialsError(operation, alternatives.map((a) => Object.keys(a)), names);
  };
}
