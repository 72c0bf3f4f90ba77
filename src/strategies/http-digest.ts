import { setCredentialHeader } from "../http/credentials.js";
import { ownProvider, type AuthProvider } from "../auth/provider.js";
import { requireText } from "../core/required.js";
import { rememberSecret } from "../core/redact.js";
import { debug } from "../core/log.js";
import { ALGORITHMS, digestResponse, parseChallenges } from "./digest-protocol.js";

/** Options of {@link httpDigest}. */
export interface HttpDigestOptions {
  username: string;
  password: string;
}

const quote = (value: string) => `"${value.replace(/["\\]/g, "\\$&")}"`;

/**
 * HTTP Digest authentication (RFC 7616: SHA-256 preferred, MD5 for older servers, `qop=auth`).
 * The first request goes without credentials; the server's 401 challenge is answered through the
 * provider's 401 hook and the request resent. Later requests answer the same nonce at once, with a
 * growing nonce count; when the server says the nonce is `stale`, the new one is taken and the
 * request resent. A refusal of fresh credentials is returned as it is, not retried.
 *
 * @example
 * ```ts
 * const client = createMlServerClient({
 *   baseUrl,
 *   auth: httpDigest({ username: "svc-ml", password: process.env.ML_PASSWORD! }),
 * });
 * ```
 */
export function httpDigest(options: HttpDigestOptions): AuthProvider {
  requireText(options?.username, "httpDigest's username");
  requireText(options.password, "httpDigest's password");
  rememberSecret(options.password);
  let challenge:
    | { realm: string; nonce: string; opaque: string | undefined; algorithm: string; qop: "auth" | undefined }
    | undefined;
  let nc = 0;
  const ascii = /^[\x20-\x7e]*$/.test(options.username);

  return ownProvider({
    async authorize(request) {
      if (!challenge) return;
      const current = challenge;
      const url = new URL(request.url);
      const uri = url.pathname + url.search;
      const cnonce = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) =>
        b.toString(16).padStart(2, "0"),
      ).join("");
      const count = ++nc;
      const response = await digestResponse({ ...options, ...current, method: request.method, uri, nc: count, cnonce });
      const parts = [
        // RFC 7616 section 3.4.4: a name that is not plain ASCII travels as username* (RFC 5987).
        ascii ? `username=${quote(options.username)}` : `username*=UTF-8''${encodeURIComponent(options.username)}`,
        `realm=${quote(current.realm)}`,
        `nonce=${quote(current.nonce)}`,
        `uri=${quote(uri)}`,
        `algorithm=${current.algorithm}`,
        `response=${quote(response)}`,
        ...(current.qop
          ? [`qop=${current.qop}`, `nc=${count.toString(16).padStart(8, "0")}`, `cnonce=${quote(cnonce)}`]
          : []),
        ...(current.opaque !== undefined ? [`opaque=${quote(current.opaque)}`] : []),
      ];
      setCredentialHeader(
        request.headers,
        "authorization",
        `Digest ${parts.join(", ")}`,
        "The Digest answer (from the server's challenge)",
      );
    },

    onUnauthorized(request, response) {
      const offered = parseChallenges(response.headers.get("www-authenticate") ?? "")
        .filter((c) => c.scheme === "digest" && c.params.realm !== undefined && c.params.nonce !== undefined)
        .filter((c) => ALGORITHMS[(c.params.algorithm ?? "MD5").toUpperCase()] !== undefined)
        .filter(
          (c) =>
            c.params.qop === undefined ||
            c.params.qop
              .split(",")
              .map((q) => q.trim())
              .includes("auth"),
        );
      // The strongest algorithm offered wins: SHA-256 over MD5.
      const best = offered.sort(
        (a, b) =>
          Number((b.params.algorithm ?? "MD5").toUpperCase().startsWith("SHA")) -
          Number((a.params.algorithm ?? "MD5").toUpperCase().startsWith("SHA")),
      )[0];
      if (!best) {
        debug("401 without a Digest challenge this client can answer (algorithm and qop=auth)");
        return false;
      }
      const sent = parseChallenges(request.headers.get("authorization") ?? "")[0];
      const stale = best.params.stale?.toLowerCase() === "true";
      if (sent?.scheme === "digest" && sent.params.nonce === best.params.nonce && !stale) {
        // Fresh credentials for this very nonce were refused: the username or password is wrong.
        return false;
      }
      challenge = {
        realm: best.params.realm!,
        nonce: best.params.nonce!,
        opaque: best.params.opaque,
        algorithm: (best.params.algorithm ?? "MD5").toUpperCase().replace("-SESS", "-sess"),
        qop: best.params.qop === undefined ? undefined : "auth",
      };
      nc = 0;
      debug(`Digest challenge (${challenge.algorithm}${stale ? ", stale nonce" : ""}): answering and resending`);
      return true;
    },
  });
}
