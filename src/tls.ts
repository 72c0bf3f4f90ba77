import { rootCertificates } from "node:tls";
import type { FetchLike } from "./auth/provider.js";

/**
 * A fetch that also trusts the given CA certificates (PEM), for servers behind a corporate or
 * self-signed CA. Node's own roots stay trusted. undici is loaded only when this is first used.
 *
 * @example
 * ```ts
 * const client = createMlServerClient({ baseUrl, auth, ca: readFileSync("corp-root.pem", "utf8") });
 * ```
 */
export function fetchTrusting(ca: string | readonly string[], base: FetchLike = globalThis.fetch): FetchLike {
  const extra = typeof ca === "string" ? [ca] : [...ca];
  let dispatcher: Promise<object> | undefined;
  return async (request) => {
    dispatcher ??= import("undici").then(({ Agent }) => new Agent({ connect: { ca: [...rootCertificates, ...extra] } }));
    // Node's fetch takes an undici dispatcher as an extra init option.
    return (base as (r: Request, init: object) => Promise<Response>)(request, { dispatcher: await dispatcher });
  };
}
