/**
 * Redaction, the floor every printed text stands on. Messages are built from safe parts in the
 * first place; this is the second line: every secret the library handles is remembered here (in
 * the encodings it travels in) and removed from any text meant for people, error causes included.
 */

/** Secrets shorter than this are not searched for: they would redact ordinary words. */
const MIN_SECRET_LENGTH = 4;
/** The most recent secrets are remembered; renewals keep adding tokens, so the set is bounded. */
const MAX_REMEMBERED = 512;

/** Secret → the forms it may appear in (raw, URL- and form-encoded, JSON-escaped, base64). */
const remembered = new Map<string, readonly string[]>();

function base64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function encodings(secret: string): string[] {
  const b64 = base64(secret);
  const forms = new Set([
    secret,
    encodeURIComponent(secret),
    encodeURIComponent(secret).replace(/%20/g, "+"),
    JSON.stringify(secret).slice(1, -1),
    b64,
    b64.replace(/=+$/, ""),
    b64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""),
  ]);
  return [...forms].filter((form) => form.length >= MIN_SECRET_LENGTH);
}

/**
 * Remembers a secret (a password, client secret, private key, access or refresh token), so that no
 * error message, cause or log line can show it in any common encoding. Cheap; call it whenever a
 * secret is first handled.
 */
export function rememberSecret(secret: string | undefined): void {
  if (typeof secret !== "string" || secret.length < MIN_SECRET_LENGTH || remembered.has(secret)) return;
  remembered.set(secret, encodings(secret));
  if (remembered.size > MAX_REMEMBERED) remembered.delete(remembered.keys().next().value!);
}

/**
 * Long runs of token characters: JWTs, opaque tokens, keys. None belongs in text a server or a
 * library wrote. (Without `/`, so that file paths survive; a base64 token's pieces still go.)
 */
const TOKEN_LIKE = /[A-Za-z0-9\-_.~+=]{32,}/g;

/**
 * `scheme://anything@`: userinfo, well-formed or not (a malformed password may hold `/`, a space or
 * even `@`), so everything up to the last `@` before a quote or line end goes.
 */
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)[^"'`<>\n]*@/gi;

/**
 * Removes every remembered secret, every one of `secrets`, URL userinfo, and any long token-like
 * run of characters from text meant for people: for text that others wrote (servers, libraries).
 */
export function scrub(text: string, secrets: readonly string[] = []): string {
  return scrubKnown(text, secrets).replace(TOKEN_LIKE, "[redacted]");
}

/** Removes remembered secrets, `secrets` and URL userinfo: for the library's own messages. */
export function scrubKnown(text: string, secrets: readonly string[] = []): string {
  let out = text;
  const strip = (form: string) => {
    if (out.includes(form)) out = out.split(form).join("[redacted]");
  };
  for (const secret of secrets)
    if (typeof secret === "string" && secret.length >= MIN_SECRET_LENGTH) encodings(secret).forEach(strip);
  for (const forms of remembered.values()) forms.forEach(strip);
  return out.replace(USERINFO, "$1[redacted]@");
}

const SECRET_QUERY_PARAMS =
  /^(refresh_?token|access_?token|token|id_token|code|client_secret|password|assertion|api_?key|key|sig|signature)$/i;

/**
 * A URL as text for a message: userinfo removed, and any query parameter that may carry a secret
 * replaced by `[redacted]`. Text that is not a URL is shown with whatever could be userinfo cut.
 */
export function redactUrl(input: string | URL): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return scrub(String(input));
  }
  url.username = "";
  url.password = "";
  for (const name of [...url.searchParams.keys()]) {
    if (SECRET_QUERY_PARAMS.test(name)) url.searchParams.set(name, "[redacted]");
  }
  return scrub(url.toString().replace(/%5Bredacted%5D/g, "[redacted]"));
}

/** Marks errors already made safe (ours, and copies), so they are not copied again. */
export const SAFE = Symbol("mlserver-client.safe");

/** Own properties of a cause worth keeping: codes and numbers that help debugging. */
const KEPT_PROPERTIES = [
  "code",
  "errorCode",
  "subError",
  "status",
  "statusCode",
  "errno",
  "syscall",
  "address",
  "port",
] as const;

/**
 * A copy of `cause` that is safe to print: the same class name, code and status, with the message
 * and stack scrubbed and any other property (response bodies, request options, headers) dropped.
 * Its own cause is made safe the same way, a few levels deep.
 */
export function safeCause(cause: unknown, depth = 0): unknown {
  if (typeof cause === "string") return scrub(cause);
  if (typeof cause !== "object" || cause === null) return cause;
  if ((cause as { [SAFE]?: boolean })[SAFE]) return cause;
  const source = cause as Record<string, unknown> & {
    message?: unknown;
    name?: unknown;
    stack?: unknown;
    cause?: unknown;
  };
  const name = typeof source.name === "string" ? source.name : "Error";
  const message = scrub(typeof source.message === "string" ? source.message : "");
  const nativeClass = (globalThis as unknown as Record<string, unknown>)[name];
  // Native error classes are rebuilt as themselves; others (DOMException's getters would throw on a
  // copy) as an Error that carries their name.
  const copy: Error =
    typeof nativeClass === "function" &&
    (nativeClass as { prototype?: unknown }).prototype instanceof Error &&
    name.endsWith("Error") &&
    name !== "DOMException"
      ? new (nativeClass as ErrorConstructor)(message)
      : new Error(message);
  if (copy.name !== name) Object.defineProperty(copy, "name", { value: name, configurable: true, writable: true });
  const frames =
    typeof source.stack === "string" ? source.stack.split("\n").filter((line) => /^\s+at /.test(line)) : [];
  Object.defineProperty(copy, "stack", {
    value: scrub([`${name}: ${message}`, ...frames].join("\n")),
    configurable: true,
    writable: true,
  });
  for (const key of KEPT_PROPERTIES) {
    const value = source[key];
    if (typeof value === "number" || typeof value === "boolean")
      (copy as unknown as Record<string, unknown>)[key] = value;
    else if (typeof value === "string") (copy as unknown as Record<string, unknown>)[key] = scrub(value).slice(0, 200);
  }
  if (source.cause !== undefined && depth < 4) {
    Object.defineProperty(copy, "cause", {
      value: safeCause(source.cause, depth + 1),
      configurable: true,
      writable: true,
    });
  }
  Object.defineProperty(copy, SAFE, { value: true });
  return copy;
}

const INSPECT = Symbol.for("nodejs.util.inspect.custom");

/**
 * Makes a real `Request` that carries credentials print as the light one does, without its header
 * values: middleware of the application's sees it, and a logger may print what it sees. The
 * object keeps its whole contract; only its inspection changes.
 */
export function concealCredentials(request: Request): void {
  // A light request prints without header values already, and claims no Request.
  if (!(request instanceof Request) || Object.hasOwn(request, INSPECT)) return;
  const url = new URL(request.url);
  const shown = `Request { method: '${request.method}', url: '${scrub(url.origin + url.pathname)}' }`;
  Object.defineProperty(request, INSPECT, { value: () => shown });
  const headers = request.headers;
  Object.defineProperty(headers, INSPECT, { value: () => `Headers { ${[...headers.keys()].join(", ")} }` });
}
