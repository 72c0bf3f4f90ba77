import createClient, { type Client, type ClientOptions } from "openapi-fetch";
import type { paths } from "../generated/mlserver.js";
import { operationSecurity } from "../generated/mlserver.security.js";
import { authMiddleware } from "./auth/middleware.js";
import { assertSecureTransport } from "./auth/origins.js";
import { isAuthProvider, type AuthOption } from "./auth/provider.js";
import type { OperationSecurityMap } from "./codegen/security.js";
import { InvalidOptionError } from "./errors.js";
import { fetchWith, type ProxyOptions } from "./transport.js";

/** The typed ML Server client: an openapi-fetch client over the generated `paths`. */
export type MlServerClient = Client<paths>;

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
}

/** Parses and checks a base URL; trailing slashes are dropped from its path so paths join cleanly. */
export function parseBaseUrl(baseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new InvalidOptionError(`baseUrl ${JSON.stringify(baseUrl)} is not an absolute URL; write it as https://host:12800.`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new InvalidOptionError(`baseUrl must use https: or http:, not ${url.protocol}`);
  }
  if (url.username || url.password) {
    throw new InvalidOptionError("baseUrl must not hold a username or password: pass credentials through the auth option.");
  }
  if (url.search || url.hash) throw new InvalidOptionError("baseUrl must not have a query or a fragment.");
  url.pathname = url.pathname.replace(/\/+$/, "");
  return url;
}

/** A checked base URL as text, without a trailing slash: `https://host:12800` or `https://host/ml`. */
export function normalizeBaseUrl(baseUrl: string): string {
  return parseBaseUrl(baseUrl).href.replace(/\/$/, "");
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
export function createAuthenticatedClient<P extends object>(options: MlServerClientOptions, security?: OperationSecurityMap): Client<P> {
  const { auth, allowedOrigins, allowInsecureHttp = false, ca, proxy, ...rest } = options;
  const clientOptions = ca === undefined && proxy === undefined ? rest : { ...rest, fetch: fetchWith({ ca, proxy }, rest.fetch ?? globalThis.fetch) };
  const url = parseBaseUrl(options.baseUrl);
  const baseUrl = normalizeBaseUrl(options.baseUrl);
  const client = createClient<P>({ ...clientOptions, baseUrl });
  if (auth) {
    // Fail at construction, not at the first call, when the base URL itself would leak credentials.
    assertSecureTransport(url, allowInsecureHttp);
    const binding = { baseUrl, fetch: clientOptions.fetch ?? globalThis.fetch, allowInsecureHttp };
    for (const provider of isAuthProvider(auth) ? [auth] : Object.values(auth)) provider.bind?.(binding);
    client.use(authMiddleware(auth, { allowedOrigins: allowedOrigins ?? [url.origin], allowInsecureHttp, ...(security && { security }) }));
  }
  return client;
}
