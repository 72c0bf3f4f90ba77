/**
 * node:crypto, loaded when first used rather than when the package is imported: loading it takes a
 * few milliseconds that a program which never touches a file or Redis store should not pay.
 */
export const nodeCrypto = (): typeof import("node:crypto") => process.getBuiltinModule("node:crypto");
