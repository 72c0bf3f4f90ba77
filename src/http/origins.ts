import { InsecureTransportError, InvalidOptionError, OriginNotAllowedError } from "../core/errors.js";

/**
 * Parses an allow-list of origins. Each entry must be exactly an origin (`https://host[:port]`);
 * anything else, such as a bare host name or an entry with a path, fails here, loudly, because an
 * entry that can never match would silently send no credentials at all.
 */
export function parseAllowedOrigins(entries: readonly string[]): readonly string[] {
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new InvalidOptionError(
      'allowedOrigins must list at least one origin, e.g. ["https://mlserver.example.com:12800"].',
    );
  }
  return entries.map((entry) => {
    let url: URL | undefined;
    try {
      url = new URL(entry);
    } catch {
      url = undefined;
    }
    const valid =
      url !== undefined &&
      (url.protocol === "https:" || url.protocol === "http:") &&
      !url.username &&
      !url.password &&
      url.pathname === "/" &&
      !url.search &&
      !url.hash &&
      !url.hostname.includes("*") &&
      entry.replace(/\/$/, "").toLowerCase() === url.origin.toLowerCase();
    if (!valid) {
      throw new InvalidOptionError(
        `allowedOrigins entry ${JSON.stringify(entry)} is not an origin: write it as scheme://host[:port] ` +
          `(e.g. "https://mlserver.example.com:12800"), with no path, query or wildcard.`,
      );
    }
    return url!.origin;
  });
}

/**
 * `localhost`, 127.0.0.0/8 and `[::1]`: traffic that never leaves the machine. Names under
 * `.localhost` are not loopback here: common resolvers do not pin them to 127.0.0.1.
 */
export function isLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === "localhost" || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host);
}

/** Parses and checks a base URL; trailing slashes are dropped from its path so paths join cleanly. */
export function parseBaseUrl(baseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new InvalidOptionError(
      `baseUrl ${JSON.stringify(String(baseUrl))} is not an absolute URL; write it as https://host:12800.`,
    );
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new InvalidOptionError(`baseUrl must use https: or http:, not ${url.protocol}`);
  }
  if (url.username || url.password) {
    throw new InvalidOptionError(
      "baseUrl must not hold a username or password: pass credentials through the auth option.",
    );
  }
  if (url.search || url.hash) throw new InvalidOptionError("baseUrl must not have a query or a fragment.");
  url.pathname = url.pathname.replace(/\/+$/, "");
  return url;
}

/** A checked base URL as text, without a trailing slash: `https://host:12800` or `https://host/ml`. */
export function normalizeBaseUrl(baseUrl: string): string {
  return parseBaseUrl(baseUrl).href.replace(/\/$/, "");
}

/** Throws unless credentials may go to `url`: an allowed origin, over HTTPS unless loopback or opted out. */
export function assertCredentialTarget(url: URL, allowedOrigins: readonly string[], allowInsecureHttp: boolean): void {
  if (!allowedOrigins.includes(url.origin)) throw new OriginNotAllowedError(url, allowedOrigins);
  assertSecureTransport(url, allowInsecureHttp);
}

/** Throws unless `url` is HTTPS, loopback, or the user opted out. */
export function assertSecureTransport(url: URL, allowInsecureHttp: boolean): void {
  if (url.protocol === "https:" || allowInsecureHttp || isLoopback(url.hostname)) return;
  throw new InsecureTransportError(url);
}
