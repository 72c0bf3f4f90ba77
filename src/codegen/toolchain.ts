/**
 * The code generator's toolchain: openapi-typescript (with the TypeScript compiler it drives),
 * swagger2openapi and yaml. They are optional peer dependencies, so that installing the client does
 * not install a compiler; they are loaded together, on first use, and a missing one is reported
 * once, with the command that installs them.
 */
import { MissingDependencyError, isModuleNotFound } from "../core/errors.js";

export interface Toolchain {
  yaml: typeof import("yaml");
  openapiTS: typeof import("openapi-typescript");
  ts: typeof import("typescript");
  swagger2openapi: typeof import("swagger2openapi");
}

/** What `npm install --save-dev …` needs to name for the generator. */
export const GENERATOR_PACKAGES = ["openapi-typescript", "typescript", "swagger2openapi", "yaml"] as const;

let loading: Promise<Toolchain> | undefined;

/** Loads the toolchain once; rejects with {@link MissingDependencyError} when a package is not installed. */
export function toolchain(): Promise<Toolchain> {
  loading ??= Promise.all([
    importOptional(() => import("yaml"), "yaml"),
    importOptional(() => import("openapi-typescript"), "openapi-typescript"),
    importOptional(() => import("typescript"), "typescript"),
    importOptional(() => import("swagger2openapi"), "swagger2openapi"),
    // TypeScript is CommonJS: its namespace is the module's default export when imported from ESM.
  ]).then(([yaml, openapiTS, ts, swagger2openapi]) => ({ yaml, openapiTS, ts: ts.default, swagger2openapi }));
  loading.catch(() => (loading = undefined));
  return loading;
}

/** Imports an optional package; "not installed" becomes a {@link MissingDependencyError} for the generator. */
async function importOptional<T>(load: () => Promise<T>, name: string): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (isModuleNotFound(error, name)) throw new MissingDependencyError("The code generator", GENERATOR_PACKAGES, error);
    throw error;
  }
}
