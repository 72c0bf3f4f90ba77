import { ownProvider, type AuthProvider } from "../auth/provider.js";
import { InvalidOptionError } from "../core/errors.js";
import { assertHeaderName, valueResolver, type ValueSource } from "./custom-header.js";

/** Options of {@link apiKey}, as OpenAPI's `apiKey` security scheme describes a key. */
export interface ApiKeyOptions {
  in: "header" | "query";
  name: string;
  value: ValueSource;
}

/**
 * An API key in a header or a query parameter, matching an OpenAPI `apiKey` scheme. Prefer the
 * header: a key in the URL ends up in server and proxy logs. (This library's own messages and logs
 * never show URLs with their query.) With a function as `value`, it is asked on each request, and
 * once more after a 401.
 *
 * @example
 * ```ts
 * const client = createMlServerClient({
 *   baseUrl,
 *   auth: { Bearer: mlServerLogin(login), ApiKey: apiKey({ in: "header", name: "X-Api-Key", value: key }) },
 * });
 * ```
 */
export function apiKey(options: ApiKeyOptions): AuthProvider {
  if (options.in !== "header" && options.in !== "query")
    throw new InvalidOptionError('apiKey: `in` is "header" or "query".');
  if (options.in === "header") assertHeaderName(options.name, "apiKey");
  else if (typeof options.name !== "string" || options.name === "")
    throw new InvalidOptionError("apiKey: name is required.");
  const resolve = valueResolver(options.value, "apiKey");
  const dynamic = typeof options.value === "function";
  return ownProvider({
    async authorize(request) {
      const value = await resolve();
      if (options.in === "header") {
        request.headers.set(options.name, value);
        return undefined;
      }
      const url = new URL(request.url);
      url.searchParams.set(options.name, value);
      return new Request(url, request);
    },
    ...(dynamic && { onUnauthorized: () => true }),
  });
}
