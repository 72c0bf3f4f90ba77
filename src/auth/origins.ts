import { InsecureTransportError, InvalidOptionError, OriginNotAllowedError } from "../errors.js";

/**
 * Parses an allow-list of origins. Each entry must be exactly an origin (`https://host[:port]`);
 * anything else, such as a bare host name or an entry with a path, fails here, loudly, because an
 * entry that can never match would silently send no credentials at all.
 */
export function parseAllowedOrigins(entries: readonly string[]): readonly string[] {
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new InvalidOptionError("allowedOrigins must list at least one origin, e.g. [\"https://mlserver.example.com:12800\"].");
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
      !url.username && !url.password && url.pathname === "/" && !url.search && !url.hash &&
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

/** localhost (and *.localhost), 127.0.0.0/8 and ::1: traffic that never leaves the machine. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === "localhost" || host.endsWith(".localhost") || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host);
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
