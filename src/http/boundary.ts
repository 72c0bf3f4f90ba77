import { assertCredentialTarget, isLoopback } from "./origins.js";

/**
 * Headers that carry credentials whoever set them: never sent to an origin that may not receive
 * credentials, even if no provider of ours set them (the fetch standard strips these three too).
 */
const ALWAYS_CREDENTIALS = ["authorization", "proxy-authorization", "cookie"];

/**
 * Where one client's credentials may go, and what counts as a credential on a request. The auth
 * middleware teaches it the header and query names its providers set; the transport asks it, for
 * every request it sends (redirect hops and resends included), whether the request carries a
 * credential and whether its target may receive one.
 *
 * @group Building blocks
 */
export class CredentialBoundary {
  readonly allowedOrigins: readonly string[];
  readonly allowInsecureHttp: boolean;
  readonly #headers = new Set(ALWAYS_CREDENTIALS);
  readonly #queryNames = new Set<string>();
  /** Origins already found fit; a refusal is checked (and thrown) afresh each time. */
  readonly #fit = new Set<string>();

  /** `allowedOrigins` must be parsed origins (see `parseAllowedOrigins`); empty allows none. */
  constructor(allowedOrigins: readonly string[], allowInsecureHttp: boolean) {
    this.allowedOrigins = allowedOrigins;
    this.allowInsecureHttp = allowInsecureHttp;
  }

  /**
   * Records what providers added to a request: every header they set or changed, every query name
   * they added. `before` is a snapshot taken before they ran (see `snapshot`).
   */
  learn(before: RequestSnapshot, after: Request): void {
    after.headers.forEach((value, name) => {
      if (!this.#headers.has(name) && before.headers.get(name) !== value) this.#headers.add(name);
    });
    if (after.url !== before.url) {
      const had = new URL(before.url).searchParams;
      for (const [name, value] of new URL(after.url).searchParams)
        if (had.get(name) !== value) this.#queryNames.add(name);
    }
  }

  /** Whether `request` carries anything known to be a credential. */
  carriesCredentials(request: Request): boolean {
    for (const name of this.#headers) if (request.headers.has(name)) return true;
    if (this.#queryNames.size === 0) return false;
    const query = new URL(request.url).searchParams;
    for (const name of this.#queryNames) if (query.has(name)) return true;
    return false;
  }

  /** Whether credentials may go to `url`: an allowed origin, over HTTPS unless loopback or opted out. */
  mayReceive(url: URL): boolean {
    if (this.#fit.has(url.origin)) return true;
    return (
      this.allowedOrigins.includes(url.origin) &&
      (url.protocol === "https:" || this.allowInsecureHttp || isLoopback(url.hostname))
    );
  }

  /**
   * Throws the typed refusal unless credentials may go to `url`. Every request passes here: a URL
   * as text (a Request's, already normalized, without userinfo) is checked by its origin prefix
   * against the origins already found fit, and parsed only on a miss.
   */
  assertMayReceive(url: string | URL): void {
    if (typeof url === "string") {
      const end = url.indexOf("/", url.indexOf("//") + 2);
      if (this.#fit.has(end < 0 ? url : url.slice(0, end))) return;
      url = new URL(url);
    }
    if (this.#fit.has(url.origin)) return;
    assertCredentialTarget(url, this.allowedOrigins, this.allowInsecureHttp);
    if (this.#fit.size < 100) this.#fit.add(url.origin);
  }

  /** Headers without any credential, for a hop to a target that may not receive them. */
  withoutCredentials(headers: Headers): Headers {
    const clean = new Headers(headers);
    for (const name of this.#headers) clean.delete(name);
    return clean;
  }

  /** A URL without any credential query parameter. */
  urlWithoutCredentials(url: URL): URL {
    const clean = new URL(url);
    for (const name of this.#queryNames) clean.searchParams.delete(name);
    return clean;
  }
}

/**
 * A request's URL and headers as they were before providers ran.
 *
 * @group Building blocks
 */
export interface RequestSnapshot {
  url: string;
  headers: ReadonlyMap<string, string>;
}

export function snapshot(request: Request): RequestSnapshot {
  return { url: request.url, headers: new Map(request.headers) };
}
