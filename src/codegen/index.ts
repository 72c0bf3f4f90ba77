export { generateFromSpec, generateFromText, generateTargets, writeFilesAtomically, writeOrCheck, findStaleFiles, securityModulePath } from "./generate.js";
export type { GeneratedFile, GenerateOptions, GenerationTarget } from "./generate.js";
export { loadSpec, decodeText, parseSpecText } from "./load.js";
export type { LoadedSpec } from "./load.js";
export { toOpenApi3 } from "./normalize.js";
export type { OpenApiDocument, SecurityRequirement } from "./normalize.js";
export { extractSecurity, renderSecurityModule } from "./security.js";
export type { OperationSecurityMap, SecuritySchemeInfo } from "./security.js";
