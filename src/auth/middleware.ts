import type { Middleware } from "openapi-fetch";
import type { OperationSecurityMap, SecurityAlternative } from "./security.js";
import { InvalidOptionError, MissingCredentialsError } from "../core/errors.js";
import { debug } from "../core/log.js";
import { concealCredentials } from "../core/redact.js";
import { discardBody, givenSignal } from "../http/bodies.js";
import { Exchange } from "../http/exchange.js";
import { snapshot, type CredentialBoundary } from "../http/boundary.js";
import { isAuthProvider, type AuthContext, type AuthOption, type AuthProvider } from "./provider.js";
import type { FetchLike } from "../core/fetch.js";
import type { SpanRecorder } from "../http/layers.js";

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
  /** Where the providers' token spans go (in each call's context). */
  spans?: SpanRecorder | undefined;
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
  const { boundary, transport, security, spans } = wiring;
  const allowInsecureHttp = boundary.allowInsecureHttp;
  const choose = chooser(auth);
  const providersFor = (request: Request, schemaPath: string) =>
    choose(security?.[schemaPath]?.[request.method.toLowerCase()], `${request.method} ${schemaPath}`);

  const contextOf = (request: Request, baseUrl: string): AuthContext => ({
    baseUrl,
    fetch: transport,
    signal: givenSignal(request),
    allowInsecureHttp,
    spans,
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
      // The pipeline below knows a call by its path template (for retries and spans).
      const exchange = Exchange.of(request);
      exchange.operation = schemaPath;
      let held = false;
      try {
        const providers = providersFor(request, schemaPath);
        if (providers.length === 0) return undefined;
        if (clientOptions.fetch !== transport) {
          // Only the transport checks the request as it is actually sent (and its redirects).
          throw new InvalidOptionError(
            "This client does not send through the auth middleware's fetch, so credentials could leave " +
              "unchecked: create it with createClient({ fetch: middleware.fetch }) and no per-request fetch.",
          );
        }
        // Refuse before asking any provider for a credential (which may mean a sign-in).
        boundary.assertMayReceive(request.url);
        if (providers.some((p) => p.onUnauthorized)) {
          // A 401 resends the request as it is now, before credentials, with its body kept.
          exchange.hold(request);
          exchange.pristine = request;
          held = true;
        }
        return exchange.carry(await authorize(request, providers, contextOf(request, clientOptions.baseUrl)));
      } catch (error) {
        // A refused call is never sent: release its body (and the copy's), or Node keeps an
        // unread body (a Blob's, for one) alive.
        discardBody(request);
        if (held) letGo(exchange);
        throw error;
      }
    },

    async onResponse({ request, response, schemaPath, options: clientOptions }) {
      const exchange = Exchange.find(request);
      const pristine = exchange?.pristine;
      if (!exchange || !pristine) return undefined;
      try {
        if (response.status !== 401) return undefined;
        const providers = providersFor(pristine, schemaPath);
        const context = contextOf(request, clientOptions.baseUrl);
        const verdicts = await Promise.all(
          providers.map((p) => p.onUnauthorized?.(request, response, context) ?? false),
        );
        if (!verdicts.some(Boolean)) return undefined;
        // The path template, not the URL: a URL may carry a secret (a token or an API key).
        debug(`401 from ${request.method} ${schemaPath}: resending once`);
        discardBody(response);
        const resend = await authorize(await exchange.again(pristine), providers, context);
        return await transport(exchange.carry(resend));
      } finally {
        letGo(exchange);
      }
    },

    onError({ request }) {
      const exchange = Exchange.find(request);
      if (exchange?.pristine) letGo(exchange);
      return undefined;
    },
  };
}

/** The call got its answer (or none will come): no resend after a 401 will need its body. */
function letGo(exchange: Exchange): void {
  exchange.pristine = undefined;
  exchange.letGo();
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
