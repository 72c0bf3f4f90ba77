/** What a file name from a server must be before anything is written under it. */
import { UnsafeFileNameError } from "./core/errors.js";

// C0 and C1 controls, DEL, and both path separators: none belongs in a plain file name.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const NOT_PLAIN = /[\u0000-\u001f\u007f-\u009f/\\]/;

/**
 * Throws {@link UnsafeFileNameError} unless `name` is a plain file name: not empty, not `.` or
 * `..`, without a separator, NUL or control character. `source` names who chose it, for the message.
 *
 * @example
 * ```ts
 * for (const name of await scorer.batchFiles(id, 0)) checkFileName(name, "The server");
 * ```
 */
export function checkFileName(name: string, source = "The server"): void {
  if (
    typeof name !== "string" ||
    name === "" ||
    name === "." ||
    name === ".." ||
    NOT_PLAIN.test(name) ||
    new TextEncoder().encode(name).length > 255
  ) {
    throw new UnsafeFileNameError(String(name), source);
  }
}
