import createClient, { type Client, type ClientOptions, type Middleware } from "openapi-fetch";
import type { paths } from "../generated/mlserver.js";
import { operationSecurity } from "../generated/mlserver.security.js";
import { CredentialBoundary } from "./http/boundary.js";
import { createAuthMiddleware, type AuthMiddlewareOptions } from "./auth/middleware.js";
import { assertSecureTransport, normalizeBaseUrl, parseAllowedOrigins, parseBaseUrl } from "./http/origins.js";
import { allOwnProviders, isAuthProvider, type AuthOption } from "./auth/provider.js";
import { type FetchLike } from "./core/fetch.js";
import type { OperationSecurityMap } from "./auth/security.js";
import type { ProxyOptions } from "./http/dispatcher.js";
import { Exchange } from "./http/exchange.js";
import { createPipeline, createTransport } from "./http/pipeline.js";
import { layerOf, type Retries, type Tracing } from "./http/layers.js";
import type { RetryOptions } from "./http/retry.js";
import { InvalidOptionError } from "./core/errors.js";
import { platform } from "#platform";

/** The typed ML Server client: an openapi-fetch client over the generated `paths`. */
export type MlServerClient = Client<paths>;

const OTEL_FORM = 'tracing: openTelemetry(otel), otel being your import * as otel from "@opentelemetry/api"';

/** Options of {@link createMlServerClient}. Everything openapi-fetch takes is accepted too. */
export interface MlServerClientOptions extends Omit<ClientOptions, "baseUrl"> {
  /**
   * The web node's address, e.g. `https://mlserver.example.com:12800`. Required: ML Server's
   * description names no server, so there is nothing to default to.
   */
  baseUrl: string;
  /**
   * How requests are authenticated, e.g. `mlServerLogin({ username, password })`. Credentials are
   * sent only to operations that need them (never to `POST /login`), only to `allowedOrigins`, and
   * never over plain HTTP except to loopback.
   */
  auth?: AuthOption;
  /** Origins that may receive credentials. Default: the origin of `baseUrl` alone. */
  allowedOrigins?: readonly string[];
  /**
   * Send credentials over plain `http://` to a host that is not loopback. Default false: anyone on
   * the path could read and replay them. Only for a network you trust.
   */
  allowInsecureHttp?: boolean;
  /**
   * PEM certificates to trust, in addition to Node's own roots, for a server behind a corporate or
   * self-signed CA. Strategies use the same trust for their token calls unless given their own `ca`.
   */
  ca?: string | string[];
  /**
   * Send every call through this HTTP proxy (tunnelled with CONNECT), with Basic proxy credentials
   * if it needs them. API credentials still go to the API's origin alone.
   */
  proxy?: ProxyOptions;
  /**
   * The most connections the default transport keeps open to one origin (default: no limit), e.g.
   * `maxConnections: 16` to spare a small web node. Ignored with a `fetch` of your own.
   */
  maxConnections?: number;
  /**
   * How failed calls are retried (see {@link RetryOptions}): by default GET, HEAD, OPTIONS, PUT and
   * DELETE are retried up to 3 times after a network error, 408, 429, 502, 503 or 504, with
   * exponential backoff and full jitter, honouring `Retry-After`; POST only when opted in. `false`
   * turns retries off. The browser build retries only when given {@link retries}`(options)`, which
   * keeps the retry code out of pages that do not ask for it (on Node the two forms are the same).
   *
   * @example
   * ```ts
   * createMlServerClient({ baseUrl, retry: { retries: 5, operations: { "POST /api/{name}/{version}": true } } });
   * createMlServerClient({ baseUrl, retry: false });
   * createMlServerClient({ baseUrl, retry: retries({ retries: 2 }) }); // the browser build's form
   * ```
   */
  retry?: RetryOptions | Retries | false;
  /**
   * OpenTelemetry spans (default true): with `@opentelemetry/api` installed, a client span per API
   * call (`GET /services/{name}`, with HTTP's semantic conventions and the retry count) and a span
   * per sign-in, renewal and revoke; `traceparent` goes only to allowed origins. Without the
   * package nothing is loaded. `false` never loads it. {@link openTelemetry}`(otel)` traces through
   * the app's own module: the browser build, which never imports the package, traces only so.
   *
   * @example
   * ```ts
   * createMlServerClient({ baseUrl, auth, tracing: false });
   * createMlServerClient({ baseUrl, auth, tracing: openTelemetry(otel) }); // the browser build's form
   * ```
   */
  tracing?: boolean | Tracing;
}

/**
 * Creates a client for the ML Server core API, typed from `openapi/mlserver.yaml`.
 *
 * @example
 * ```ts
 * const client = createMlServerClient({
 *   baseUrl: "https://mlserver.example.com:12800",
 *   auth: mlServerLogin({ username: "admin", password: process.env.MLSERVER_PASSWORD! }),
 * });
 * const { data, error } = await client.GET("/services/{name}/{version}", {
 *   params: { path: { name: "scorer", version: "1.0" } },
 * });
 * ```
 */
export function createMlServerClient(options: MlServerClientOptions): MlServerClient {
  return createAuthenticatedClient<paths>(options, operationSecurity);
}

/**
 * An openapi-fetch client for any spec, with the auth, origin, TLS and proxy handling of
 * {@link createMlServerClient}; `security` is the spec's generated security map, if it has one.
 */
export function createAuthenticatedClient<P extends object>(
  options: MlServerClientOptions,
  security?: OperationSecurityMap,
): Client<P> {
  const {
    auth,
    allowedOrigins,
    allowInsecureHttp = false,
    ca,
    proxy,
    maxConnections,
    retry,
    tracing,
    fetch: userFetch,
    ...rest
  } = options;
  const url = parseBaseUrl(options.baseUrl);
  const baseUrl = normalizeBaseUrl(options.baseUrl);
  const boundary = new CredentialBoundary(parseAllowedOrigins(allowedOrigins ?? [url.origin]), allowInsecureHttp);
  // On Node, requests leave through undici's dispatcher unless the application brings its own fetch.
  const sender = platform.sender(
    {
      ...(ca !== undefined && { ca }),
      ...(proxy && { proxy }),
      ...(maxConnections !== undefined && { maxConnections }),
    },
    userFetch as FetchLike | undefined,
  );
  // Retries and tracing: the values the options give, else this build's own (the browser's has none).
  const { retryPolicy, tracing: ownTracing } = platform;
  const traced = layer(tracing, layerOf(tracing, "tracing"), ownTracing && (() => ownTracing), OTEL_FORM);
  const ownRetry = retryPolicy && (() => retryPolicy(retry as RetryOptions | undefined));
  // API calls (and their 401 resend) are retried; token calls keep the token cycle's own retries.
  const pipeline = createPipeline({
    boundary,
    sender,
    retry: layer(retry, layerOf(retry, "retries")?.policy(), ownRetry, "retry: retries(options)"),
    clientSpan: traced?.clientSpans(boundary),
  });
  // Requests are real ones once code of the application's may see them (its providers, its middleware).
  const requests = { real: auth !== undefined && !allOwnProviders(auth) };
  const client = createClient<P>({
    ...rest,
    fetch: pipeline.send as ClientOptions["fetch"],
    baseUrl,
    Request: requestClass(sender.Request, rest.Request, requests),
  });
  let own: Middleware;
  if (auth) {
    // Fail at construction, not at the first call, when the base URL itself would leak credentials.
    assertSecureTransport(url, allowInsecureHttp);
    const binding = { baseUrl, fetch: pipeline.direct, allowInsecureHttp, ...(traced && { spans: traced }) };
    for (const provider of isAuthProvider(auth) ? [auth] : Object.values(auth)) provider.bind?.(binding);
    own = createAuthMiddleware(auth, { boundary, transport: pipeline.send, security, spans: traced });
  } else {
    // The auth middleware names the operation of the requests it sees; without it, this does.
    own = {
      onRequest({ request, schemaPath }) {
        Exchange.of(request).operation = schemaPath;
        return undefined;
      },
    };
  }
  return lastMiddleware(client, own, requests);
}

/**
 * A layer an option asks for: the value made for it (`given`), else the build's own (`built`) unless
 * the option is `false`. A build without its own refuses the plain form, naming the one to use.
 */
function layer<L>(option: unknown, given: L | undefined, built: (() => L) | undefined, form: string) {
  if (given || option === false || (option === undefined && !built)) return given;
  if (built) return built();
  throw new InvalidOptionError(`This build leaves that code out unless asked: pass ${form}.`);
}

/**
 * Makes real `Request`s, as openapi-fetch's `Request` option, for calls whose requests code of the
 * application's sees. A stream body gets `duplex: "half"` (Node requires it, and the light path
 * takes streams without it), so that a call works the same on either kind.
 */
const RealRequest = function (input: string | URL | Request, init?: RequestInit) {
  const stream = init?.body instanceof ReadableStream && !("duplex" in init);
  return new Request(input, stream ? ({ ...init, duplex: "half" } as RequestInit) : init);
} as unknown as typeof Request;
Object.defineProperty(RealRequest, Symbol.hasInstance, { value: (value: unknown) => value instanceof Request });

/**
 * The client's `Request` class for openapi-fetch: the transport's light record (`light`) while no
 * code of the application's sees requests, real ones once some may. One class for the client
 * rather than an option per call: openapi-fetch copies a call's options, which costs many times
 * more than a call without any.
 */
function requestClass(
  light: typeof Request | undefined,
  given: typeof Request | undefined,
  requests: { real: boolean },
): typeof Request {
  const plain = light ?? given ?? Request;
  const chosen = function (input: string | URL | Request, init?: RequestInit) {
    return new (requests.real ? RealRequest : plain)(input, init);
  } as unknown as typeof Request;
  // openapi-fetch takes what a middleware returns if it is an instance of this class.
  const isRequest = (value: unknown) => value instanceof Request || value instanceof plain;
  Object.defineProperty(chosen, Symbol.hasInstance, { value: isRequest });
  return chosen;
}

const METHODS = ["GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"] as const;
type CallOptions = { middleware?: Middleware[]; Request?: typeof Request; params?: object } | undefined;
type Call = (path: string, init?: CallOptions) => Promise<unknown>;

/**
 * Runs `own` after every middleware of the application's, global or per call, so that it
 * authorizes, marks and keeps for a resend the request as the application's middleware left it,
 * and sees a response first. `own` stays the client's last middleware; a call with middleware of
 * its own runs `own` after those, and the client's copy stands aside for it. Any middleware of the
 * application's makes the client's requests (or the call's) real ones.
 */
function lastMiddleware<P extends object>(client: Client<P>, own: Middleware, requests: { real: boolean }): Client<P> {
  // The params object of each call that runs `own` itself: openapi-fetch hands every hook the same one.
  const ownRunsLater = new WeakSet<object>();
  const standsAside = ({ params }: { params: object }) => ownRunsLater.has(params);
  // Only the hooks `own` has: openapi-fetch calls every hook present, on every call.
  const { onRequest, onResponse, onError } = own;
  const clientWide: Middleware = {
    ...(onRequest && { onRequest: (context) => (standsAside(context) ? undefined : onRequest(context)) }),
    ...(onResponse && { onResponse: (context) => (standsAside(context) ? undefined : onResponse(context)) }),
    ...(onError && { onError: (context) => (standsAside(context) ? undefined : onError(context)) }),
  } as Middleware;
  const use = client.use.bind(client);
  const eject = client.eject.bind(client);
  use(clientWide);
  client.use = (...middleware) => {
    requests.real ||= middleware.some(Boolean);
    eject(clientWide);
    try {
      use(...middleware);
    } finally {
      use(clientWide);
    }
  };
  const withOwn = (init: CallOptions) => {
    // Most calls: their options as given (no copy), the client's middleware and Request class.
    if (!init?.middleware?.length) return init;
    const params = { ...init.params };
    ownRunsLater.add(params);
    return { ...init, params, Request: init.Request ?? RealRequest, middleware: [...init.middleware, own] };
  };
  const calls = client as unknown as Record<(typeof METHODS)[number], Call> & {
    request: (method: string, path: string, init?: CallOptions) => Promise<unknown>;
  };
  for (const method of METHODS) {
    const call = calls[method];
    calls[method] = (path, init) => call(path, withOwn(init));
  }
  const request = calls.request;
  calls.request = (method, path, init) => request(method, path, withOwn(init));
  return client;
}

/**
 * The middleware {@link authMiddleware} returns: use it, and send through its `fetch`, which
 * enforces the allowed origins and the plain-HTTP rule on every request as sent (after every
 * middleware), and follows redirects by the same rules.
 */
export type AuthMiddleware = Middleware & { readonly fetch: FetchLike };

/**
 * Authentication for any openapi-fetch client, with the guarantees of {@link createMlServerClient}:
 * create the client with the middleware's `fetch`, then `use` it. A client that sends through
 * another fetch (or a call given its own `fetch`) is refused before any credential is added, since
 * only that fetch checks the request actually sent.
 *
 * @example
 * ```ts
 * import createClient from "openapi-fetch";
 * const auth = authMiddleware(bearer(process.env.TOKEN!), { allowedOrigins: ["https://api.example.com"] });
 * const client = createClient<paths>({ baseUrl: "https://api.example.com", fetch: auth.fetch });
 * client.use(auth);
 * ```
 */
export function authMiddleware(
  auth: AuthOption,
  options: AuthMiddlewareOptions & { fetch?: FetchLike },
): AuthMiddleware {
  const boundary = new CredentialBoundary(
    parseAllowedOrigins(options.allowedOrigins),
    options.allowInsecureHttp === true,
  );
  const transport = createTransport(boundary, options.fetch ?? globalThis.fetch);
  // Token spans as a client of this build would have them (on Node, when @opentelemetry/api is there).
  const spans = platform.tracing;
  spans?.start();
  return Object.assign(createAuthMiddleware(auth, { boundary, transport, security: options.security, spans }), {
    fetch: transport,
  });
}
