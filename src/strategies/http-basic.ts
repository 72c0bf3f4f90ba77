import { basicCredentials } from "../http/credentials.js";
import { requireText } from "../core/required.js";
import { ownProvider, type AuthProvider } from "../auth/provider.js";

export { basicCredentials };

/** Options of {@link httpBasic}. */
export interface HttpBasicOptions {
  username: string;
  password: string;
}

/**
 * HTTP Basic authentication (RFC 7617), for servers that take it. The header is computed once; a
 * 401 is returned as it is, since the same credentials would fail again. Only over HTTPS (or to
 * loopback): Basic credentials are the password itself, merely encoded.
 *
 * @example
 * ```ts
 * const client = createMlServerClient({
 *   baseUrl,
 *   auth: httpBasic({ username: "svc-ml", password: process.env.ML_PASSWORD! }),
 * });
 * ```
 */
export function httpBasic(options: HttpBasicOptions): AuthProvider {
  const username = requireText(options?.username, "httpBasic's username");
  const header = basicCredentials({ username, password: requireText(options.password, "httpBasic's password") });
  return ownProvider({
    authorize(request) {
      request.headers.set("authorization", header);
    },
  });
}
