/**
 * The code generator's toolchain: openapi-typescript, the TypeScript 5 compiler API it builds its
 * output with, swagger2openapi and yaml. They come from one optional package,
 * mlserver-client-toolchain, which holds them as its own pinned dependencies: installing the client
 * installs no compiler, and the generator works (and writes the same bytes) whatever `typescript`
 * the user's project has, including TypeScript 7, whose package has no compiler API.
 */
import type { Toolchain } from "mlserver-client-toolchain";
import { MissingDependencyError, isModuleNotFound } from "../core/errors.js";

/** What `npm install --save-dev …` needs to name for the generator. */
const GENERATOR_PACKAGES = ["mlserver-client-toolchain"] as const;

let loading: Promise<Toolchain> | undefined;

/** Loads the toolchain once; rejects with {@link MissingDependencyError} when it is missing or broken. */
export function toolchain(): Promise<Toolchain> {
  loading ??= load();
  loading.catch(() => (loading = undefined));
  return loading;
}

async function load(): Promise<Toolchain> {
  try {
    const { loadToolchain } = await import("mlserver-client-toolchain");
    return await loadToolchain();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "ERR_TOOLCHAIN_TYPESCRIPT") {
      const problem = `is installed but unusable (${(error as Error).message})`;
      throw new MissingDependencyError("The code generator", GENERATOR_PACKAGES, error, problem);
    }
    if (isModuleNotFound(error, GENERATOR_PACKAGES[0]))
      throw new MissingDependencyError("The code generator", GENERATOR_PACKAGES, error);
    throw error;
  }
}
