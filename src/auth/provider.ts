/**
 * What a strategy knows about the call it is authorizing, and the means to make its own calls
 * (token endpoints) with the same transport and rules as the client.
 */
export interface AuthContext {
  /** The client's base URL, e.g. `https://mlserver.example.com:12800`. */
  baseUrl: string;
  /** The client's fetch; use it for token requests so tests, proxies and TLS settings apply. */
  fetch: typeof fetch;
  /** The caller's signal: aborting it should abandon this call's wait for a token. */
  signal: AbortSignal | undefined;
  /** Whether the user opted in to sending credentials over plain HTTP to non-loopback hosts. */
  allowInsecureHttp: boolean;
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
  /** Adds credentials to `request` (set its headers in place). May wait, e.g. for a token. */
  authorize(request: Request, context: AuthContext): void | Promise<void>;
  /**
   * `request` (as authorized) got `response` with status 401. Refresh or re-authenticate if that
   * helps, and resolve `true` to have the request resent once, authorized again. Resolve `false` to
   * hand the 401 to the caller. Never called for the resent request: there is no loop.
   */
  onUnauthorized?(request: Request, response: Response, context: AuthContext): boolean | Promise<boolean>;
  /** Forgets credentials and, where the server supports it, revokes them. */
  signOut?(): Promise<void>;
}

/** Reads the bearer token a request carries, if any. */
export function bearerTokenOf(request: Request): string | undefined {
  const header = request.headers.get("authorization");
  return header && /^bearer /i.test(header) ? header.slice(7).trim() : undefined;
}
