/**
 * Every TypeScript block of the README and of docs/ type-checks against the package's sources.
 * Blocks are fragments: names the package exports are imported for them when they do not import
 * them, and the placeholders the prose uses (`baseUrl`, `auth`, `WEB_APP_ID`...) are declared with
 * the types the prose means, unless the block declares them itself.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, expect, it } from "vitest";
import * as api from "../../src/index.js";

const exec = promisify(execFile);
const root = resolve(import.meta.dirname, "../..");

const PLACEHOLDERS: Record<string, string> = {
  baseUrl: "string",
  auth: "AuthProvider",
  client: "MlServerClient",
  password: "string",
  username: "string",
  token: "string",
  key: "string",
  tenantId: "string",
  clientId: "string",
  pem: "string",
  thumbprintSha256: "string",
  NATIVE_APP_ID: "string",
  WEB_APP_ID: "string",
  DAEMON_APP_ID: "string",
  login: "{ username: string; password: string }",
  vault: "{ read(name: string): Promise<string> }",
  applicants: "{ income: number; amount: number }[]",
  server: "DevServer",
};
const TYPES_FROM_PACKAGE = ["AuthProvider", "MlServerClient"];

function markdownFiles(): string[] {
  const docs = join(root, "docs");
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith(".md") ? [join(dir, e.name)] : [],
    );
  return [join(root, "README.md"), ...walk(docs)];
}

function blocks(file: string): string[] {
  return [...readFileSync(file, "utf8").matchAll(/^( *)```ts\n([\s\S]*?)^\1```/gm)].map((m) =>
    m[2]!.replace(new RegExp(`^${m[1]}`, "gm"), ""),
  );
}

function withPreamble(code: string): string {
  const declared = (name: string) =>
    new RegExp(
      `(const|let|var|function|class)\\s+(\\{[^}]*\\b${name}\\b[^}]*\\}|${name}\\b)|` +
        `import\\s+(type\\s+)?(\\{[^}]*\\b${name}\\b[^}]*\\}|${name}\\b)`,
    ).test(code);
  const used = (name: string) => new RegExp(`(?<![.\\w$])${name}(?![\\w$])`).test(code);
  const values = Object.keys(api).filter((name) => used(name) && !declared(name));
  const types = TYPES_FROM_PACKAGE.filter((name) => !declared(name));
  const lines = [
    `import { ${values.join(", ")} } from "mlserver-client";`,
    `import type { ${types.join(", ")} } from "mlserver-client";`,
    ...(declared("DevServer") ? [] : [`import type { DevServer } from "mlserver-client/devserver";`]),
    ...(used("readFileSync") && !declared("readFileSync") ? [`import { readFileSync } from "node:fs";`] : []),
    ...Object.entries(PLACEHOLDERS)
      .filter(([name]) => used(name) && !declared(name))
      .map(([name, type]) => `declare const ${name}: ${type};`),
  ];
  // Imports first (a block's own imports may follow ours), then the code, as one module.
  return `${lines.join("\n")}\n${code}\nexport {};\n`;
}

it("every TypeScript block in README.md and docs/ type-checks", async () => {
  // Inside the repository (in the ignored .tmp/), so that node_modules resolves as for the sources.
  mkdirSync(join(root, ".tmp"), { recursive: true });
  const dir = mkdtempSync(join(root, ".tmp", "docs-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(root, "examples/generated"), join(dir, "generated"), { recursive: true });
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
  const files: string[] = [];
  for (const file of markdownFiles()) {
    blocks(file).forEach((code, i) => {
      const name = `${file.slice(root.length + 1).replace(/[/.]/g, "_")}_${i + 1}.ts`;
      writeFileSync(join(dir, name), withPreamble(code));
      files.push(name);
    });
  }
  expect(files.length).toBeGreaterThan(15);
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      extends: join(root, "tsconfig.json"),
      compilerOptions: {
        noEmit: true,
        noUnusedLocals: false,
        types: ["node"],
        typeRoots: [join(root, "node_modules/@types")],
        paths: {
          "mlserver-client": [join(root, "src/index.ts")],
          "mlserver-client/building-blocks": [join(root, "src/building-blocks.ts")],
          "mlserver-client/codegen": [join(root, "src/codegen/index.ts")],
          "mlserver-client/devserver": [join(root, "devserver/index.ts")],
        },
      },
      include: files,
    }),
  );
  const result = await exec(
    process.execPath,
    [join(root, "node_modules/typescript-native/bin/tsc"), "-p", join(dir, "tsconfig.json")],
    { cwd: dir },
  ).then(
    () => "",
    (e: { stdout: string }) => e.stdout,
  );
  expect(result).toBe("");
}, 120_000);
