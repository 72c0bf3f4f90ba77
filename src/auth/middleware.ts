import type { Middleware } from "openapi-fetch";
import type { OperationSecurityMap, SecurityAlternative } from "./security.js";
import { InvalidOptionError, MissingCredentialsError } from "../core/errors.js";
import { debug } from "../core/log.js";
import { concealCredentials } from "../core/redact.js";
import { markOperation } from "../core/operation.js";
import { discardBody, givenSignal, hasBody } from "../core/bodies.js";
import { snapshot, type CredentialBoundary } from "../http/boundary.js";
import { isAuthProvider, type AuthContext, type AuthOption, type AuthProvider } from "./provider.js";
import type { FetchLike } from "../core/fetch.js";

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

/** What {@link createAuthMiddleware} works with: the boundary it teaches, and the fetch that enforces it. */
export interface AuthMiddlewareWiring {
  boundary: CredentialBoundary;
  /** The client must send through exactly this fetch, which enforces `boundary` on every request. */
  transport: FetchLike;
  security?: OperationSecurityMap;
}

/** Per call (keyed by openapi-fetch's per-call options object): the providers used, and a pristine copy to resend. */
interface Resendable {
  providers: readonly AuthProvider[];
  copy: Request;
}

/**
 * The openapi-fetch middleware behind `authMiddleware` and `createMlServerClient`: authorizes
 * requests, teaches the boundary what its providers set, and on a 401 lets the providers refresh
 * and resends the request once, body included, through the same transport.
 *
 * With one provider, every operation that needs credentials gets them from it. With providers
 * keyed by scheme name, each operation gets exactly the first alternative of its `security` whose
 * schemes all have providers; if none has, the call fails before anything is sent.
 */
export function createAuthMiddleware(auth: AuthOption, wiring: AuthMiddlewareWiring): Middleware {
  const { boundary, transport, security } = wiring;
  const allowInsecureHttp = boundary.allowInsecureHttp;
  const choose = chooser(auth);
  // Weakly keyed by the call's own options object: a call that never gets an answer (refused,
  // abandoned) leaves nothing reachable behind, whichever middleware stopped it.
  const resendable = new WeakMap<object, Resendable>();

  const contextOf = (request: Request, baseUrl: string): AuthContext => ({
    baseUrl,
    fetch: transport,
    signal: givenSignal(request),
    allowInsecureHttp,
  });

  const authorize = async (
    request: Request,
    providers: readonly AuthProvider[],
    context: AuthContext,
  ): Promise<Request> => {
    const before = snapshot(request);
    let current = request;
    for (const provider of providers) current = (await provider.authorize(current, context)) ?? current;
    boundary.learn(before, current);
    concealCredentials(current);
    return current;
  };

  return {
    async onRequest({ request, schemaPath, options: clientOptions }) {
      let copy: Request | undefined;
      try {
        const method = request.method.toLowerCase();
        const providers = choose(security?.[schemaPath]?.[method], `${request.method} ${schemaPath}`);
        // Below openapi-fetch, retries and spans know a call by its path template.
        if (providers.length === 0) {
          markOperation(request, schemaPath);
          return undefined;
        }
        if (clientOptions.fetch !== transport) {
          // Only the transport checks the request as it is actually sent (and its redirects).
          throw new InvalidOptionError(
            "This client does not send through the auth middleware's fetch, so credentials could leave " +
              "unchecked: create it with createClient({ fetch: middleware.fetch }) and no per-request fetch.",
          );
        }
        // Refuse before asking any provider for a credential (which may mean a sign-in).
        boundary.assertMayReceive(request.url);
        copy = providers.some((p) => p.onUnauthorized) ? (hasBody(request) ? request.clone() : request) : undefined;
        const authorized = await authorize(request, providers, contextOf(request, clientOptions.baseUrl));
        markOperation(authorized, schemaPath);
        if (copy) resendable.set(clientOptions, { providers, copy });
        return authorized;
      } catch (error) {
        // A refused call is never sent: release its body (and the copy's), or Node keeps an
        // unread body (a Blob's, for one) alive.
        discardBody(request);
        if (copy) discardBody(copy);
        throw error;
      }
    },

    async onResponse({ request, response, schemaPath, options: clientOptions }) {
      const entry = resendable.get(clientOptions);
      resendable.delete(clientOptions);
      if (!entry || response.status !== 401) {
        if (entry && entry.copy !== request) discardBody(entry.copy);
        return undefined;
      }
      const context = contextOf(request, clientOptions.baseUrl);
      const verdicts = await Promise.all(
        entry.providers.map((p) => p.onUnauthorized?.(request, response, context) ?? false),
      );
      if (!verdicts.some(Boolean)) return undefined;
      // The path template, not the URL: a URL may carry a secret (a token or an API key).
      debug(`401 from ${request.method} ${schemaPath}: resending once`);
      discardBody(response);
      const retry = hasBody(entry.copy) ? entry.copy : new (entry.copy.constructor as typeof Request)(entry.copy);
      const resend = await authorize(retry, entry.providers, context);
      markOperation(resend, schemaPath);
      return transport(resend);
    },

    onError({ options: clientOptions }) {
      const entry = resendable.get(clientOptions);
      resendable.delete(clientOptions);
      if (entry) discardBody(entry.copy);
      return undefined;
    },
  };
}

/** Decides, per operation, which providers authorize it. */
function chooser(
  auth: AuthOption,
): (alternatives: readonly SecurityAlternative[] | undefined, operation: string) => readonly AuthProvider[] {
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
    throw new MissingCredentialsError(
      operation,
      alternatives.map((a) => Object.keys(a)),
      names,
    );
  };
}
