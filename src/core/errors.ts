/**
 * One error family for the whole library. Every error has a stable `code` to branch on, a message
 * that says what failed and what to do, and never a password, secret or token: messages are built
 * from redacted parts only, and `response` is kept off `util.inspect` and JSON output.
 */

/** The stable codes of {@link MlServerClientError}; safe to `switch` on. */
export type ErrorCode =
  | "ERR_INVALID_OPTION"
  | "ERR_INSECURE_TRANSPORT"
  | "ERR_ORIGIN_NOT_ALLOWED"
  | "ERR_AUTHENTICATION_FAILED"
  | "ERR_TOKEN_REFRESH_FAILED"
  | "ERR_TOKEN_RESPONSE_INVALID"
  | "ERR_TOKEN_ENDPOINT_UNAVAILABLE"
  | "ERR_SIGNED_OUT"
  | "ERR_NO_CREDENTIALS"
  | "ERR_INVALID_CREDENTIAL"
  | "ERR_NETWORK"
  | "ERR_REDIRECT_REFUSED"
  | "ERR_API_STATUS"
  | "ERR_SERVICE_EXISTS"
  | "ERR_FORBIDDEN"
  | "ERR_NOT_FOUND"
  | "ERR_SERVICE_FAILED"
  | "ERR_REMOTE_EXECUTION_FAILED"
  | "ERR_BATCH_CANCELLED"
  | "ERR_DEVICE_CODE_EXPIRED"
  | "ERR_AUTHORIZATION_DECLINED"
  | "ERR_OPTIONAL_DEPENDENCY_MISSING"
  | "ERR_SPEC_READ"
  | "ERR_SPEC_ENCODING"
  | "ERR_SPEC_PARSE"
  | "ERR_SPEC_NOT_OPENAPI"
  | "ERR_SPEC_VERSION"
  | "ERR_SPEC_REF"
  | "ERR_SPEC_CONVERT"
  | "ERR_GENERATED_STALE"
  | "ERR_TOKEN_STORE"
  | "ERR_UNSUPPORTED_PLATFORM"
  | "ERR_UNSAFE_FILE_NAME";

import { SAFE, safeCause, scrub, scrubKnown } from "./redact.js";

const inspectSymbol = Symbol.for("nodejs.util.inspect.custom");

/** What an error may carry besides its message: the original error, and the response. */
export interface ErrorDetails {
  cause?: unknown;
  response?: Response;
}

/**
 * Base class of every error this library throws.
 *
 * @example
 * ```ts
 * try {
 *   await client.GET("/status");
 * } catch (err) {
 *   if (err instanceof MlServerClientError && err.code === "ERR_AUTHENTICATION_FAILED") {
 *     console.error("Check the username and password:", err.message);
 *   }
 * }
 * ```
 */
export class MlServerClientError extends Error {
  readonly code: ErrorCode;
  /**
   * The response that caused the error, when there was one (its body already read). The request
   * is never kept: its headers and body may hold credentials.
   */
  declare readonly response?: Response;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    // The second line of defence: a message, and a cause's message and stack, lose every known
    // secret; a cause keeps its class name and code but none of its other properties.
    super(scrubKnown(message), details.cause === undefined ? undefined : { cause: safeCause(details.cause) });
    this.name = new.target.name;
    this.code = code;
    Object.defineProperty(this, SAFE, { value: true });
    // Non-enumerable, so that inspect/JSON/loggers that walk own properties never print headers.
    if (details.response) Object.defineProperty(this, "response", { value: details.response, enumerable: false });
  }

  /** What `util.inspect` and `console.log` show: name, code, message, stack, and a redacted cause. */
  [inspectSymbol](): string {
    const causes: string[] = [];
    for (let c = this.cause, depth = 0; c instanceof Error && depth < 5; c = c.cause, depth++) {
      const code = (c as { code?: unknown }).code;
      causes.push(`\n  [cause]: ${c.name}${typeof code === "string" ? ` (${code})` : ""}: ${c.message}`);
    }
    return scrubKnown(`${this.stack ?? `${this.name}: ${this.message}`}\n  code: '${this.code}'${causes.join("")}`);
  }

  /** What `JSON.stringify` shows: name, code and message, nothing else. */
  toJSON(): { name: string; code: ErrorCode; message: string } {
    return { name: this.name, code: this.code, message: this.message };
  }
}

/** An option was missing or malformed; thrown at construction, before anything is sent. */
export class InvalidOptionError extends MlServerClientError {
  constructor(message: string) {
    super("ERR_INVALID_OPTION", message);
  }
}

/** Credentials would have gone over plain HTTP to a host that is not loopback. */
export class InsecureTransportError extends MlServerClientError {
  constructor(url: URL) {
    super(
      "ERR_INSECURE_TRANSPORT",
      `Refusing to send credentials over plain HTTP to ${url.origin}: use https://, or, only on a ` +
        `network you trust, pass allowInsecureHttp: true. Loopback addresses (localhost, 127.0.0.0/8, ::1) are ` +
        `always allowed.`,
    );
  }
}

/** Credentials would have gone to an origin that is not in the allowed list. */
export class OriginNotAllowedError extends MlServerClientError {
  constructor(url: URL, allowed: readonly string[]) {
    super(
      "ERR_ORIGIN_NOT_ALLOWED",
      `Refusing to send credentials to ${url.origin}: it is not an allowed origin (${allowed.join(", ")}). ` +
        `Add it to allowedOrigins if it should receive them.`,
    );
  }
}

/**
 * A credential cannot be sent as it is: a token or header value holds a line break, a control
 * character or a character outside Latin-1 (e.g. a wrapped JWT pasted into an environment
 * variable). The value itself is never quoted.
 */
export class InvalidCredentialError extends MlServerClientError {
  constructor(what: string) {
    super(
      "ERR_INVALID_CREDENTIAL",
      `${what} holds a line break, control character or non-Latin-1 character, so it cannot be sent in a ` +
        `header. Check where it comes from (a wrapped or pasted value?).`,
    );
  }
}

/**
 * A request got no answer: the name did not resolve, the connection was refused or reset, TLS
 * failed, or the server stopped mid-answer. `reason` is the system code (e.g. `ECONNREFUSED`) when
 * there is one; the original error is the `cause`.
 */
export class NetworkError extends MlServerClientError {
  readonly reason: string;
  constructor(call: string, reason: string, cause: unknown) {
    super(
      "ERR_NETWORK",
      `${call} could not be completed (${reason}). Check the address, the network, and that the server is up.`,
      { cause },
    );
    this.reason = reason;
  }
}

/**
 * A redirect was not followed: a token or revoke call (whose body or headers hold a credential)
 * was sent elsewhere, or a redirect could not be followed safely. Names the status and the target
 * origin, never its path or query.
 */
export class RedirectRefusedError extends MlServerClientError {
  readonly status: number;
  readonly location: string | undefined;
  constructor(call: string, status: number, target: URL | undefined, why: string) {
    super(
      "ERR_REDIRECT_REFUSED",
      `${call} was answered with a redirect (HTTP ${status}) to ` +
        `${target ? target.origin : "an unusable Location"}, which was not followed: ${why}`,
    );
    this.status = status;
    this.location = target?.origin;
  }
}

/** The server rejected the credentials themselves (wrong username or password, unknown client...). */
export class AuthenticationError extends MlServerClientError {
  readonly status: number | undefined;
  constructor(message: string, details: ErrorDetails & { status?: number } = {}) {
    super("ERR_AUTHENTICATION_FAILED", message, details);
    this.status = details.status;
  }
}

/** A token could not be renewed and there was no way to sign in again. */
export class TokenRefreshError extends MlServerClientError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("ERR_TOKEN_REFRESH_FAILED", message, details);
  }
}

/** A token endpoint answered 2xx with a body that is not a usable token response. */
export class TokenResponseError extends MlServerClientError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("ERR_TOKEN_RESPONSE_INVALID", message, details);
  }
}

/**
 * A token endpoint was unreachable, timed out, or answered with an unexpected status. `retryable`
 * is true for network errors, timeouts and 5xx, which the token cycle retries with backoff.
 */
export class TokenEndpointError extends MlServerClientError {
  readonly status: number | undefined;
  readonly retryable: boolean;
  constructor(message: string, details: ErrorDetails & { status?: number; retryable: boolean }) {
    super("ERR_TOKEN_ENDPOINT_UNAVAILABLE", message, details);
    this.status = details.status;
    this.retryable = details.retryable;
  }
}

/** The provider was signed out; sign in again before making authenticated calls. */
export class SignedOutError extends MlServerClientError {
  constructor(message = "Signed out: call signIn() before making authenticated calls.") {
    super("ERR_SIGNED_OUT", message);
  }
}

/** No configured provider can satisfy any security alternative of an operation; nothing was sent. */
export class MissingCredentialsError extends MlServerClientError {
  constructor(operation: string, alternatives: readonly (readonly string[])[], available: readonly string[]) {
    const wanted = alternatives.map((alt) => alt.join(" and ")).join(", or ");
    super(
      "ERR_NO_CREDENTIALS",
      `${operation} needs ${wanted}; this client has providers for ` +
        `${available.length ? available.join(", ") : "no scheme"}. Add a provider for one of them, keyed by its ` +
        `scheme name.`,
    );
  }
}

/**
 * The server answered an API call with an error status. Subclasses name the common ML Server cases;
 * `serverMessage` is the server's own explanation, when it gave one.
 */
export class ApiError extends MlServerClientError {
  readonly status: number;
  readonly serverMessage: string | undefined;
  constructor(
    operation: string,
    response: Response,
    serverMessage: string | undefined,
    code: ErrorCode = "ERR_API_STATUS",
    advice = "",
  ) {
    const said = serverMessage?.replace(/\.\s*$/, "");
    super(
      code,
      `${operation} failed with HTTP ${response.status}${said ? `: ${said}` : ""}.${advice ? ` ${advice}` : ""}`,
      { response },
    );
    this.status = response.status;
    this.serverMessage = serverMessage;
  }
}

/** A web service with this name and version exists already (409). */
export class ServiceExistsError extends ApiError {
  constructor(operation: string, response: Response, serverMessage: string | undefined) {
    super(operation, response, serverMessage, "ERR_SERVICE_EXISTS", "Publish another version, or update this one.");
  }
}

/** The caller may not do this, e.g. another user owns the service (403). */
export class ForbiddenError extends ApiError {
  constructor(operation: string, response: Response, serverMessage: string | undefined) {
    super(
      operation,
      response,
      serverMessage,
      "ERR_FORBIDDEN",
      "Only the service's publisher (or an administrator) may do this.",
    );
  }
}

/** What was named does not exist (404). */
export class NotFoundError extends ApiError {
  constructor(operation: string, response: Response, serverMessage: string | undefined) {
    super(operation, response, serverMessage, "ERR_NOT_FOUND");
  }
}

/**
 * A server named a file that is not a plain file name (a path, `.`, `..`, a separator, NUL or a
 * control character): it was not written, and neither was any other file of the same call.
 */
export class UnsafeFileNameError extends MlServerClientError {
  /** The name as the server sent it (print it escaped: it may hold control characters). */
  readonly fileName: string;
  constructor(fileName: string, source: string) {
    super(
      "ERR_UNSAFE_FILE_NAME",
      `${source} named a file ${JSON.stringify(fileName)}, which is not a plain file name; nothing was written.`,
    );
    this.fileName = fileName;
  }
}

/** A web service ran and failed: its own error message and console output are kept. */
export class ServiceExecutionError extends MlServerClientError {
  readonly errorMessage: string;
  readonly consoleOutput: string;
  constructor(service: string, errorMessage: string, consoleOutput: string) {
    super("ERR_SERVICE_FAILED", `The web service ${service} failed: ${errorMessage || "no error message"}`);
    this.errorMessage = errorMessage;
    this.consoleOutput = consoleOutput;
  }
}

/**
 * Code run remotely (`remoteExecute`, the CLI's `run`) failed: its own error message, its console
 * output, the files it changed, the requested files that could be fetched, and those that could
 * not (a failed script often stops before writing them).
 */
export class RemoteExecutionError extends MlServerClientError {
  readonly errorMessage: string;
  readonly consoleOutput: string;
  readonly changedFiles: readonly string[];
  /** Requested files the run left, by name. */
  readonly files: Readonly<Record<string, Uint8Array>>;
  /** Requested files the run did not leave. */
  readonly missingFiles: readonly string[];
  constructor(run: {
    errorMessage: string;
    consoleOutput: string;
    changedFiles: readonly string[];
    files: Record<string, Uint8Array>;
    missingFiles: readonly string[];
  }) {
    const missing = run.missingFiles.length ? `; it left none of ${run.missingFiles.join(", ")}` : "";
    super(
      "ERR_REMOTE_EXECUTION_FAILED",
      `The code run remotely failed: ${run.errorMessage || "no error message"}${missing}`,
    );
    this.errorMessage = run.errorMessage;
    this.consoleOutput = run.consoleOutput;
    this.changedFiles = run.changedFiles;
    this.files = run.files;
    this.missingFiles = run.missingFiles;
  }
}

/** A batch being followed is no longer on the server: cancelled or deleted elsewhere (or never there). */
export class BatchCancelledError extends MlServerClientError {
  readonly executionId: string;
  constructor(service: string, executionId: string, cause: unknown) {
    super(
      "ERR_BATCH_CANCELLED",
      `Batch ${executionId} of ${service} is no longer on the server: it was cancelled or deleted before it ` +
        `completed (or the id is wrong), and its results went with it. Start it again to get them.`,
      { cause },
    );
    this.executionId = executionId;
  }
}

/** A part of the library that needs Node was called where there is no Node (the browser build). */
export class UnsupportedPlatformError extends MlServerClientError {
  constructor(what: string, instead: string) {
    super(
      "ERR_UNSUPPORTED_PLATFORM",
      `${what} needs Node and is not in the browser build of mlserver-client. ${instead}`,
    );
  }
}

/** The error for a non-2xx API response, by status. */
export function apiError(operation: string, response: Response, body: unknown): ApiError {
  const raw = typeof body === "object" && body !== null ? (body as { message?: unknown }).message : undefined;
  const message = typeof raw === "string" ? scrub(raw.slice(0, 500), []) : undefined;
  if (response.status === 409) return new ServiceExistsError(operation, response, message);
  if (response.status === 403) return new ForbiddenError(operation, response, message);
  if (response.status === 404) return new NotFoundError(operation, response, message);
  return new ApiError(operation, response, message);
}

/** The device code expired before anyone completed the sign-in with it. */
export class DeviceCodeExpiredError extends MlServerClientError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("ERR_DEVICE_CODE_EXPIRED", message, details);
  }
}

/** The user (or an administrator's policy) declined the sign-in or the consent. */
export class AuthorizationDeclinedError extends MlServerClientError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("ERR_AUTHORIZATION_DECLINED", message, details);
  }
}

/**
 * A part of the package that needs optional packages (the code generator, the dev server) was used
 * without them; the message names the one command that installs them.
 */
export class MissingDependencyError extends MlServerClientError {
  readonly packages: readonly string[];
  /** `problem` replaces "is not installed" when a package is there but unusable. */
  constructor(feature: string, packages: readonly string[], cause?: unknown, problem?: string) {
    const one = packages.length === 1;
    const state = problem ?? (one ? "is not installed" : "are not all installed");
    super(
      "ERR_OPTIONAL_DEPENDENCY_MISSING",
      `${feature} needs ${packages.join(", ")}, ` +
        `${one ? "an optional peer dependency" : "optional peer dependencies"} of mlserver-client, which ` +
        `${state}: run \`npm install --save-dev ${packages.join(" ")}\`.`,
      cause === undefined ? {} : { cause },
    );
    this.packages = packages;
  }
}

/** Whether `error` is Node's "cannot find package `name`" (for optional peer dependencies). */
export function isModuleNotFound(error: unknown, name: string): boolean {
  const code = (error as { code?: unknown }).code;
  return (
    (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") &&
    String((error as Error).message).includes(`'${name}`)
  );
}

/**
 * A token store could not be used: its lock could not be taken in time, or it is unreachable.
 * Strategies treat it as a warning and carry on with the tokens they hold; a store's `withLock`
 * throws it only when the lock itself failed, never for its task's own errors.
 */
export class TokenStoreError extends MlServerClientError {
  constructor(message: string, cause?: unknown) {
    super("ERR_TOKEN_STORE", message, cause === undefined ? {} : { cause });
  }
}

/** A system error code (ECONNREFUSED...) from anywhere in the cause chain, else its deepest message. */
export function systemReason(cause: unknown): string {
  const chain: { code?: unknown; message?: unknown }[] = [];
  for (
    let c = cause as { code?: unknown; message?: unknown; cause?: unknown } | undefined;
    c && chain.length < 6;
    c = c.cause as typeof c
  ) {
    if (c instanceof NetworkError) return c.reason;
    chain.push(c);
  }
  const code = chain
    .map((e) => e.code)
    .find((c): c is string => typeof c === "string" && /^E[A-Z_]+$/.test(c) && !c.startsWith("ERR_"));
  if (code) return code;
  const message = chain
    .map((e) => e.message)
    .reverse()
    .find((m): m is string => typeof m === "string" && m !== "");
  return message ? scrubKnown(message).slice(0, 200) : "network error";
}
