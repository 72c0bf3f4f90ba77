/** The code generator's errors, exported from `mlserver-client/codegen` (the client never throws them). */
import { MlServerClientError, type ErrorCode, type ErrorDetails } from "../core/errors.js";

/** Where in a spec file a problem is, when known (1-based). */
export interface SpecLocation {
  file: string;
  line?: number;
  column?: number;
}

/** A spec file could not be read, decoded, parsed, converted or resolved. */
export class SpecError extends MlServerClientError {
  readonly file: string;
  readonly line: number | undefined;
  readonly column: number | undefined;
  constructor(
    code: Extract<ErrorCode, `ERR_SPEC_${string}`>,
    where: SpecLocation,
    problem: string,
    details: ErrorDetails = {},
  ) {
    const at = where.line ? `:${where.line}${where.column ? `:${where.column}` : ""}` : "";
    super(code, `${where.file}${at}: ${problem}`, details);
    this.file = where.file;
    this.line = where.line;
    this.column = where.column;
  }
}

/** Generated files differ from what the generator produces now. */
export class GeneratedStaleError extends MlServerClientError {
  readonly files: readonly string[];
  constructor(files: readonly string[]) {
    super(
      "ERR_GENERATED_STALE",
      `Generated files are stale or missing: ${files.join(", ")}. Regenerate them (the same command without ` +
        `--check) and commit the result.`,
    );
    this.files = files;
  }
}
