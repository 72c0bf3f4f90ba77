import { assertHeaderValue, setCredentialHeader } from "../http/credentials.js";
import { requireText } from "../core/required.js";
import { ownProvider, type AuthProvider } from "../auth/provider.js";
import { InvalidOptionError } from "../core/errors.js";
import { rememberSecret } from "../core/redact.js";

/** A value, or a function that supplies it (sync or async), e.g. read from a vault on each call. */
export type ValueSource = string | (() => string | Promise<string>);

/** Options of {@link customHeader}. */
export interface CustomHeaderOptions {
  /** The header, e.g. `X-TokenAuth` or `X-Api-Key`. */
  name: string;
  value: ValueSource;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function assertHeaderName(name: string, strategy: string): void {
  if (typeof name !== "string" || !TOKEN.test(name))
    throw new InvalidOptionError(`${strategy}: ${JSON.stringify(name)} is not a valid header name.`);
}

function checkValue(value: unknown, strategy: string): string {
  requireText(value, `${strategy}'s value`);
  rememberSecret(value as string);
  return assertHeaderValue(value as string, `${strategy}'s value`);
}

/** Checks a fixed value at once; a function's values are checked as they come. */
export function valueResolver(source: ValueSource, strategy: string): () => Promise<string> {
  if (typeof source === "function") return async () => checkValue(await source(), strategy);
  const value = checkValue(source, strategy);
  return async () => value;
}

/**
 * Sends a credential in a header of your choosing. With a function as `value`, it is asked on each
 * request, and once more (with a resend) after a 401.
 *
 * @example
 * ```ts
 * customHeader({ name: "X-TokenAuth", value: process.env.ML_TOKEN! });
 * customHeader({ name: "X-Api-Key", value: async () => vault.read("ml-api-key") });
 * ```
 */
export function customHeader(options: CustomHeaderOptions): AuthProvider {
  assertHeaderName(options.name, "customHeader");
  const value = valueResolver(options.value, "customHeader");
  const dynamic = typeof options.value === "function";
  return ownProvider({
    async authorize(request) {
      setCredentialHeader(request.headers, options.name, await value(), "customHeader's value");
    },
    ...(dynamic && { onUnauthorized: () => true }),
  });
}
