import { InvalidCredentialError, InvalidOptionError } from "../core/errors.js";
import { rememberSecret } from "../core/redact.js";

/**
 * What a header may carry: visible Latin-1 and spaces/tabs, no line break, NUL or other control
 * character. `Headers.set` throws on anything else, quoting the value; this check says what is
 * wrong without quoting it.
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused here
const UNSENDABLE = /[\u0000-\u0008\u000a-\u001f\u007f]|[^\u0000-\u00ff]/;

/** Throws {@link InvalidCredentialError} (naming `what`, never the value) unless `value` fits in a header. */
export function assertHeaderValue(value: string, what: string): string {
  if (UNSENDABLE.test(value)) throw new InvalidCredentialError(what);
  return value;
}

/**
 * Sets a credential header: remembers the value as a secret (so no message can show it) and
 * refuses a value a header cannot carry with a typed error that does not quote it.
 */
export function setCredentialHeader(headers: Headers, name: string, value: string, what: string): void {
  rememberSecret(value);
  headers.set(name, assertHeaderValue(value, what));
}

/** `Basic <base64(user:password)>` with UTF-8 credentials (RFC 7617, `charset="UTF-8"`). */
export function basicCredentials({ username, password }: { username: string; password: string }): string {
  if (typeof username !== "string" || typeof password !== "string")
    throw new InvalidOptionError("Basic credentials need a username and a password (strings).");
  if (username.includes(":")) throw new InvalidOptionError("A Basic auth username cannot contain a colon (RFC 7617).");
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused here
  if (/[\u0000-\u001f\u007f]/.test(username + password))
    throw new InvalidOptionError("Basic auth credentials cannot contain control characters (RFC 7617).");
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  const encoded = btoa(binary);
  rememberSecret(password);
  rememberSecret(encoded);
  return `Basic ${encoded}`;
}
