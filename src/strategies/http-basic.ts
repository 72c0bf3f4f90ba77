import type { AuthProvider } from "../auth/provider.js";
import { InvalidOptionError } from "../errors.js";

/** Options of {@link httpBasic}. */
export interface HttpBasicOptions {
  username: string;
  password: string;
}

/** `Basic <base64(user:password)>` with UTF-8 credentials (RFC 7617, `charset="UTF-8"`). */
export function basicCredentials({ username, password }: HttpBasicOptions): string {
  if (typeof username !== "string" || typeof password !== "string") throw new InvalidOptionError("Basic credentials need a username and a password (strings).");
  if (username.includes(":")) throw new InvalidOptionError("A Basic auth username cannot contain a colon (RFC 7617).");
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused here
  if (/[\u0000-\u001f\u007f]/.test(username + password)) throw new InvalidOptionError("Basic auth credentials cannot contain control characters (RFC 7617).");
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

/**
 * HTTP Basic authentication (RFC 7617), for servers that take it. The header is computed once; a
 * 401 is returned as it is, since the same credentials would fail again. Only over HTTPS (or to
 * loopback): Basic credentials are the password itself, merely encoded.
 *
 * @example
 * ```ts
 * const client = createMlServerClient({ baseUrl, auth: httpBasic({ username: "svc-ml", password: process.env.ML_PASSWORD! }) });
 * ```
 */
export function httpBasic(options: HttpBasicOptions): AuthProvider {
  const header = basicCredentials(options);
  return {
    authorize(request) {
      request.headers.set("authorization", header);
    },
  };
}
