/**
 * The layering of src/, enforced: a module imports only from its own layer or the ones below, so
 * the dependency direction is visible from the folders. From the bottom: core (errors, redaction,
 * logging, fetch types), http (origins, the credential boundary, the transport, retries, tracing,
 * dispatchers), auth (the provider interface, the middleware, the token machinery), then stores
 * and strategies (neither imports the other), the client and services modules at the top of
 * src/, codegen, and the CLI above everything.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const src = join(root, "src");

const LAYERS: [folder: string, rank: number][] = [
  ["src/core/", 0],
  ["generated/", 0],
  ["src/http/", 1],
  ["src/auth/", 2],
  ["src/stores/", 3],
  ["src/strategies/", 3],
  ["src/codegen/", 4],
  ["src/cli/", 5],
  ["src/", 4], // the client, services and entry modules at the top of src/
  ["devserver/", 4], // started by the CLI's devserver command
];
function layerOf(file: string): [string, number] {
  const layer = LAYERS.find(([folder]) => file.startsWith(folder));
  if (!layer) throw new Error(`${file} is in no layer: add its folder to LAYERS`);
  return layer;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** The package's own `#` imports (package.json `imports`), every condition's target. */
const ownImports = Object.fromEntries(
  Object.entries(
    (
      JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
        imports: Record<string, Record<string, string>>;
      }
    ).imports,
  ).map(([name, targets]) => [name, Object.values(targets).map((target) => join(root, target))]),
);

/**
 * Every relative or `#` import of `file` (static, dynamic and type-only), as paths from the
 * repository root; imports in doc comments' examples name files that do not exist here, and are
 * skipped.
 */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const targets = [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+|#[^"]+)"/g)].flatMap((m) =>
    m[1]!.startsWith("#") ? (ownImports[m[1]!] ?? []) : [resolve(dirname(file), m[1]!).replace(/\.js$/, ".ts")],
  );
  return targets.filter((target) => existsSync(target)).map((target) => relative(root, target));
}

/** The arrows that point up a layer, or across between stores and strategies. */
function wrongArrows(files: Map<string, string[]>): string[] {
  const wrong: string[] = [];
  for (const [file, imports] of files) {
    const [folder, rank] = layerOf(file);
    for (const target of imports) {
      const [targetFolder, targetRank] = layerOf(target);
      const across = rank === targetRank && folder !== targetFolder && rank === 3;
      if (targetRank > rank || across) wrong.push(`${file} -> ${target}`);
    }
  }
  return wrong;
}

it("no module of src/ imports from a layer above its own", () => {
  const files = new Map(sources(src).map((file) => [relative(root, file), importsOf(file)]));
  expect(files.size).toBeGreaterThan(60);
  expect(wrongArrows(files)).toEqual([]);
});

it("the check itself catches an arrow that points up, or across", () => {
  const files = new Map([
    ["src/http/transport.ts", ["src/auth/provider.ts", "src/core/errors.ts"]],
    ["src/stores/file-token-store.ts", ["src/strategies/bearer.ts"]],
    ["src/auth/middleware.ts", ["src/http/boundary.ts"]],
  ]);
  expect(wrongArrows(files)).toEqual([
    "src/http/transport.ts -> src/auth/provider.ts",
    "src/stores/file-token-store.ts -> src/strategies/bearer.ts",
  ]);
});
