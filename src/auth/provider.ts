import type { FetchLike } from "../core/fetch.js";
import type { SpanRecorder } from "../http/layers.js";

/**
 * The client a strategy serves: where its own calls (token endpoints) go, and with what transport
 * and rules.
 */
export interface AuthBinding {
  /** The client's base URL, e.g. `https://mlserver.example.com:12800`. */
  baseUrl: string;
  /** The client's fetch; use it for token requests so tests, proxies and TLS settings apply. */
  fetch: FetchLike;
  /** Whether the user opted in to sending credentials over plain HTTP to non-loopback hosts. */
  allowInsecureHttp: boolean;
  /** Records spans of the strategy's own work (sign-in, renewal, revoke) in the client's tracing. */
  spans?: SpanRecorder;
}

/** What a strategy knows about the call it is authorizing. */
export interface AuthContext extends AuthBinding {
  /** The caller's signal: aborting it should abandon this call's wait for a token. */
  signal: AbortSignal | undefined;
}

/**
 * The one interface every authentication strategy implements. The middleware calls `authorize`
 * for each request that needs credentials, `onUnauthorized` when such a request came back 401
 * (resolve `true` to have it resent once), and the application calls `signOut` when done.
 *
 * @example A strategy of your own, in a few lines:
 * ```ts
 * const apiKeyAuth: AuthProvider = {
 *   authorize(request) {
 *     request.headers.set("X-Api-Key", process.env.API_KEY!);
 *   },
 * };
 * const client = createMlServerClient({ baseUrl, auth: apiKeyAuth });
 * ```
 */
export interface AuthProvider {
  /**
   * Called once by `createMlServerClient` with the client it serves, so a strategy can reach its
   * token endpoints before the first request (e.g. for an explicit sign-in).
   */
  bind?(binding: AuthBinding): void;
  /**
   * Adds credentials to `request`: set its headers in place, or return a new Request (e.g. to add
   * a query parameter, since a Request's URL cannot change). May wait, e.g. for a token.
   */
  authorize(request: Request, context: AuthContext): void | Request | Promise<void | Request>;
  /**
   * `request` (as authorized) got `response` with status 401. Refresh or re-authenticate if that
   * helps, and resolve `true` to have the request resent once, authorized again. Resolve `false` to
   * hand the 401 to the caller. Never called for the resent request: there is no loop.
   */
  onUnauthorized?(request: Request, response: Response, context: AuthContext): boolean | Promise<boolean>;
  /** Forgets credentials and, where the server supports it, revokes them. */
  signOut?(): Promise<void>;
}

/**
 * Providers keyed by the spec's security scheme names, e.g. `{ Bearer: mlServerLogin(...), ApiKey:
 * apiKey(...) }`: for each operation, the first alternative of its `security` whose schemes all
 * have a provider is used, and only that one.
 */
export type AuthProviders = Readonly<Record<string, AuthProvider>>;

/** One provider for every operation that needs credentials, or providers by scheme name. */
export type AuthOption = AuthProvider | AuthProviders;

export function isAuthProvider(auth: AuthOption): auth is AuthProvider {
  return typeof (auth as AuthProvider).authorize === "function";
}

/** Reads the bearer token a request carries, if any. */
export function bearerTokenOf(request: Request): string | undefined {
  const header = request.headers.get("authorization");
  return header && /^bearer /i.test(header) ? header.slice(7).trim() : undefined;
}

const OWN: unique symbol = Symbol("mlserver-client.ownProvider");

/**
 * Marks a provider made by this package: it only sets headers on the request it is given, so a
 * client may give it the transport's light request record. A provider of the application's gets
 * real `Request`s, which it may rebuild as the Fetch standard allows.
 */
export function ownProvider<T extends AuthProvider>(provider: T): T {
  (provider as T & { [OWN]?: true })[OWN] = true;
  return provider;
}

/** Whether every provider of `auth` was made by this package (see {@link ownProvider}). */
export function allOwnProviders(auth: AuthOption): boolean {
  return (isAuthProvider(auth) ? [auth] : Object.values(auth)).every(
    (p) => (p as AuthProvider & { [OWN]?: true })[OWN] === true,
  );
}
