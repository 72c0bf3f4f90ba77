/**
 * Checks of required option values, made before the first request: an unset environment variable
 * (`process.env.X!` is `undefined` at run time) must read as a missing option, not as a wrong
 * password the server refused.
 */
import { InvalidOptionError } from "./errors.js";

/**
 * `value` when it is a non-empty string; otherwise an `ERR_INVALID_OPTION` naming `what` and where
 * it came from, e.g. `requireText(options.password, "mlServerLogin's password")`.
 */
export function requireText(value: unknown, what: string): string {
  if (typeof value === "string" && value !== "") return value;
  const state =
    value === undefined
      ? "not set (undefined)"
      : value === ""
        ? "empty"
        : `not a string (a ${value === null ? "null" : typeof value})`;
  throw new InvalidOptionError(
    `${what} is ${state}. If it comes from an environment variable, set that variable where this runs.`,
  );
}
