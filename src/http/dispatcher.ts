import { basicCredentials } from "./credentials.js";
import { isLoopback } from "./origins.js";
import type { FetchLike } from "../core/fetch.js";
import { InvalidOptionError } from "../core/errors.js";

/** An HTTP proxy that every call goes through, with Basic proxy credentials if it asks for them. */
export interface ProxyOptions {
  /** e.g. `http://proxy.corp.example:3128`; credentials go in `auth`, never in the URL. */
  url: string;
  /** Sent to the proxy alone, as `Proxy-Authorization: Basic …`. */
  auth?: { username: string; password: string };
}

/** How calls reach servers: extra trusted CAs, and an HTTP proxy. */
export interface TransportOptions {
  /** PEM certificates to trust in addition to Node's own roots. */
  ca?: string | string[];
  proxy?: ProxyOptions;
  /**
   * The most connections kept open to one origin by the default transport (default: no limit);
   * requests beyond it wait for a free connection.
   */
  maxConnections?: number;
}

/**
 * A fetch that trusts extra CAs and/or goes through an HTTP proxy, by giving Node's fetch an undici
 * dispatcher (undici is loaded only when this is first used). Through a proxy, every request is
 * tunnelled with CONNECT: the proxy sees the target's host and port and its own credentials, never
 * the request's headers, so API credentials reach the API's origin alone. Loopback targets
 * (`localhost`, 127.0.0.0/8, `[::1]`) bypass the proxy, as `NO_PROXY` conventions do: a plain-HTTP
 * call to this machine never crosses the network in cleartext.
 *
 * This fetch sends what it is given; the origin, plain-HTTP and redirect rules are applied by the
 * client's transport around it (see `createTransport`).
 *
 * @example
 * ```ts
 * const fetchViaProxy = fetchWith({ proxy: { url: "http://proxy:3128", auth: { username: "me", password } } });
 * ```
 */
export function fetchWith(options: TransportOptions, base: FetchLike = globalThis.fetch): FetchLike {
  const extra = options.ca === undefined ? undefined : typeof options.ca === "string" ? [options.ca] : options.ca;
  const proxy = options.proxy && checkProxy(options.proxy);
  let dispatchers: Promise<{ direct: object; proxied: object | undefined }> | undefined;
  return async (request, init) => {
    // Loaded on first use: node:tls and undici cost an import most programs never need.
    dispatchers ??= Promise.all([import("undici"), import("node:tls")]).then(
      ([{ Agent, ProxyAgent }, { rootCertificates }]) => {
        const ca = extra && [...rootCertificates, ...extra];
        return {
          direct: new Agent({ connect: { ca } }),
          proxied:
            proxy &&
            new ProxyAgent({
              uri: proxy.url,
              ...(proxy.auth && { token: basicCredentials(proxy.auth) }),
              ...(ca && { requestTls: { ca }, proxyTls: { ca } }),
            }),
        };
      },
    );
    const { direct, proxied } = await dispatchers;
    const dispatcher = proxied && !isLoopback(new URL(request.url).hostname) ? proxied : direct;
    // Node's fetch takes an undici dispatcher as an extra init option.
    return base(request, { ...init, dispatcher } as RequestInit);
  };
}

/** A fetch that also trusts the given CA certificates (PEM); see {@link fetchWith}. */
export function fetchTrusting(ca: string | readonly string[], base: FetchLike = globalThis.fetch): FetchLike {
  return fetchWith({ ca: [...(typeof ca === "string" ? [ca] : ca)] }, base);
}

/** Checks a proxy option: a URL without credentials, over http(s); credentials valid for Basic. */
export function checkProxy(proxy: ProxyOptions): ProxyOptions {
  let url: URL;
  try {
    url = new URL(proxy.url);
  } catch {
    throw new InvalidOptionError(
      `proxy.url ${JSON.stringify(String(proxy.url))} is not a URL, e.g. http://proxy.example.com:3128.`,
    );
  }
  if (url.username || url.password)
    throw new InvalidOptionError(
      "proxy.url must not hold credentials: pass them as proxy.auth, which is never printed.",
    );
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new InvalidOptionError("proxy.url must be http:// or https://.");
  if (proxy.auth) basicCredentials(proxy.auth);
  return proxy;
}
