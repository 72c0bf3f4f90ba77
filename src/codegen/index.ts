/**
 * `mlserver-client/codegen`: types and a security map from any Swagger 2.0 or OpenAPI 3.x file, as
 * `mlserver generate` writes them. Needs the optional package mlserver-client-toolchain, which
 * brings openapi-typescript with the TypeScript compiler it needs, whatever TypeScript your project has.
 *
 * @example
 * ```ts
 * import { generateFromSpec, writeFilesAtomically } from "mlserver-client/codegen";
 * await writeFilesAtomically(await generateFromSpec("swagger.json", { output: "src/generated/service.ts" }));
 * ```
 *
 * @module
 */
export { GeneratedStaleError, SpecError } from "./errors.js";
export type { SpecLocation } from "./errors.js";
export {
  generateFromSpec,
  generateFromText,
  generateTargets,
  writeFilesAtomically,
  writeOrCheck,
  findStaleFiles,
  securityModulePath,
} from "./generate.js";
export type { GeneratedFile, GenerateOptions, GenerationTarget } from "./generate.js";
export { loadSpec, decodeText, parseSpecText } from "./load.js";
export type { LoadedSpec } from "./load.js";
export { toOpenApi3 } from "./normalize.js";
export type { OpenApiDocument, SecurityRequirement } from "./normalize.js";
export { extractSecurity, renderSecurityModule } from "./security.js";
export type { OperationSecurityMap, SecuritySchemeInfo } from "./security.js";
