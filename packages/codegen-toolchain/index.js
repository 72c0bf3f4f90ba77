// mlserver-client's generator loads its toolchain through here, so that every package it drives
// resolves from this package's own dependencies: openapi-typescript meets the TypeScript 5
// compiler API it is built on even in a project whose own `typescript` is 7 (which has no
// compiler API) or absent. Pinned versions make the output the same in every project.

/**
 * Loads the toolchain. TypeScript is checked first: openapi-typescript calls its compiler API as
 * it loads, and a broken install (a TypeScript without it) must be reported, not crash inside it.
 */
export async function loadToolchain() {
  const { default: ts } = await import("typescript");
  if (typeof ts.factory?.createTypeReferenceNode !== "function") {
    const error = new Error(`its TypeScript (${ts.version ?? "unknown version"}) has no compiler API`);
    throw Object.assign(error, { code: "ERR_TOOLCHAIN_TYPESCRIPT" });
  }
  const [yaml, openapiTS, { default: swagger2openapi }] = await Promise.all([
    import("yaml"),
    import("openapi-typescript"),
    import("swagger2openapi"),
  ]);
  return { ts, yaml, openapiTS, swagger2openapi };
}
