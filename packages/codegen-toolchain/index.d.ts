import type * as TypeScript from "typescript";
import type * as OpenapiTS from "openapi-typescript";
import type * as Yaml from "yaml";

/** The packages mlserver-client's generator drives. */
export interface Toolchain {
  /** The TypeScript 5 compiler API that openapi-typescript builds its output with. */
  ts: typeof TypeScript;
  yaml: typeof Yaml;
  openapiTS: typeof OpenapiTS;
  /** swagger2openapi ships no types; this covers the one call the generator makes. */
  swagger2openapi: {
    convertObj(
      document: object,
      options: { patch?: boolean; warnOnly?: boolean; resolve?: boolean },
    ): Promise<{ openapi: object }>;
  };
}

/**
 * Loads the toolchain; rejects with an error whose `code` is `ERR_TOOLCHAIN_TYPESCRIPT` when the
 * TypeScript it resolves has no compiler API (a broken install).
 */
export declare function loadToolchain(): Promise<Toolchain>;
