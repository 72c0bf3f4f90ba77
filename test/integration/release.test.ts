/**
 * What a user gets from the published package: the tarball `npm pack` makes, installed into a fresh
 * project. It must be small, import every entry with `import` and `require`, type-check a consumer
 * under every module resolution TypeScript users pick, run the quickstart against the dev server
 * from the installed package, say what to install for the optional parts, and pass publint and
 * arethetypeswrong. Needs the npm registry (it installs the package's dependencies).
 */
import { execFile } from "node:child_process";
import { cpSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";
import { installPacked, npm, root } from "../support/packed.js";

const exec = promisify(execFile);
const devVersion = (name: string) =>
  (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { devDependencies: Record<string, string> })
    .devDependencies[name]!;

/** Bytes under a folder (files only, as `du --apparent-size` counts them). */
function sizeOf(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += sizeOf(path);
    else if (entry.isFile()) total += statSync(path).size;
  }
  return total;
}

let work: string;
let tarball: string;
let project: string;

beforeAll(async () => {
  work = await tempDir("mlserver-client-release-");
  ({ tarball, project } = await installPacked(work));
}, 300_000);

describe("the packed package, installed into a fresh project", () => {
  it("installs the client alone in at most 15 MB, without the generator's or the dev server's packages", async () => {
    const modules = join(project, "node_modules");
    const bytes = sizeOf(modules);
    const { stdout } = await exec("npm", ["ls", "--all", "--parseable"], { cwd: project });
    const packages = stdout.trim().split("\n").length - 1;
    console.log(`install of the packed client: ${(bytes / 1024 / 1024).toFixed(1)} MB, ${packages} packages`);
    expect(bytes).toBeLessThanOrEqual(15 * 1024 * 1024);
    for (const heavy of [
      "typescript",
      "openapi-typescript",
      "swagger2openapi",
      "@redocly",
      "ajv",
      "jose",
      "yaml",
      "mlserver-client-toolchain",
    ]) {
      expect(readdirSync(modules).concat(readdirSync(join(modules, "@azure")))).not.toContain(heavy);
    }
  });

  it("a stack trace from the installed package (with --enable-source-maps) names files the package ships", async () => {
    const code =
      `const { bearer } = await import("mlserver-client"); try { bearer(""); } catch (error) { ` +
      `console.log(error.stack); }`;
    const { stdout } = await exec(process.execPath, ["--enable-source-maps", "--input-type=module", "-e", code], {
      cwd: project,
    });
    expect(stdout).toMatch(/ERR_INVALID_OPTION|bearer\(\)/);
    const named = [...stdout.matchAll(/\((\/[^():]+\/node_modules\/mlserver-client\/[^():]+):\d+:\d+\)/g)].map(
      (m) => m[1]!,
    );
    // Through the maps, the frames point at the TypeScript sources, which must be there to open.
    expect(named.some((file) => file.endsWith(".ts"))).toBe(true);
    for (const file of named) expect(statSync(file).isFile(), file).toBe(true);
  });

  it("imports every entry with import and with require", async () => {
    const entries = [
      "mlserver-client",
      "mlserver-client/building-blocks",
      "mlserver-client/codegen",
      "mlserver-client/devserver",
      "mlserver-client/package.json",
    ];
    for (const entry of entries) {
      const asImport = entry.endsWith(".json")
        ? `await import(${JSON.stringify(entry)}, { with: { type: "json" } })`
        : `await import(${JSON.stringify(entry)})`;
      const { stdout: imported } = await exec(
        process.execPath,
        ["--input-type=module", "-e", `const m = ${asImport}; console.log(Object.keys(m).length)`],
        { cwd: project },
      );
      expect(Number(imported), entry).toBeGreaterThan(0);
      const { stdout: required } = await exec(
        process.execPath,
        ["-e", `console.log(Object.keys(require(${JSON.stringify(entry)})).length)`],
        { cwd: project },
      );
      expect(Number(required), entry).toBeGreaterThan(0);
    }
  });

  it("names the one command to run when the generator's or the dev server's packages are missing", async () => {
    writeFileSync(join(project, "spec.yaml"), "openapi: 3.1.0\ninfo: { title: t, version: '1' }\npaths: {}\n");
    const generated = await exec(
      join(project, "node_modules/.bin/mlserver"),
      ["generate", "spec.yaml", "-o", "out.ts"],
      { cwd: project },
    ).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(generated?.code).toBe(1);
    expect(generated?.stderr).toContain("ERR_OPTIONAL_DEPENDENCY_MISSING");
    expect(generated?.stderr).toContain("npm install --save-dev mlserver-client-toolchain");
    const { stdout } = await exec(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import { startDevServer } from "mlserver-client/devserver"; await startDevServer().catch((e) => ` +
          `console.log(e.code, e.message));`,
      ],
      { cwd: project },
    );
    expect(stdout).toContain("ERR_OPTIONAL_DEPENDENCY_MISSING");
    expect(stdout).toContain("npm install --save-dev ajv ajv-formats jose yaml");
    const { stdout: version } = await exec(join(project, "node_modules/.bin/mlserver"), ["--version"], {
      cwd: project,
    });
    expect(version.trim()).toBe(
      (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version,
    );
  });

  it("type-checks a consumer under node16, nodenext and bundler resolution, and runs the quickstart against the " +
    "installed dev server", async () => {
    const extras = ["typescript", "@types/node", "ajv", "ajv-formats", "jose", "yaml"].map(
      (name) => `${name}@${devVersion(name)}`,
    );
    await npm(["install", "--prefer-offline", ...extras], project);
    cpSync(join(root, "examples/quickstart.ts"), join(project, "quickstart.ts"));
    writeFileSync(
      join(project, "consumer.ts"),
      [
        `import { createMlServerClient, mlServerLogin, MlServerClientError, type paths } from "mlserver-client";`,
        `import { startDevServer, type DevServer } from "mlserver-client/devserver";`,
        `import type { GenerateOptions } from "mlserver-client/codegen";`,
        `const server: DevServer = await startDevServer();`,
        `const client = createMlServerClient({ baseUrl: server.url, auth: mlServerLogin({ username: "admin", ` +
          `password: "Admin-Pa55word!" }) });`,
        `const path = { name: "x", version: "1" };`,
        `const { data } = await client.GET("/services/{name}/{version}", { params: { path } });`,
        `const first: string | undefined = data?.[0]?.name;`,
        `const options: GenerateOptions = { output: "out.ts" };`,
        `type Status = paths["/status"]["get"];`,
        `export const used: [string | undefined, GenerateOptions, Status | undefined, typeof ` +
          `MlServerClientError] = [first, options, undefined, MlServerClientError];`,
        `await server.close();`,
      ].join("\n"),
    );
    const tsc = join(project, "node_modules/typescript/bin/tsc");
    for (const [module, moduleResolution] of [
      ["node16", "node16"],
      ["nodenext", "nodenext"],
      ["esnext", "bundler"],
    ] as const) {
      const args = [
        "--noEmit",
        "--strict",
        "--skipLibCheck",
        "false",
        "--target",
        "es2023",
        "--module",
        module,
        "--moduleResolution",
        moduleResolution,
        "--types",
        "node",
        "--lib",
        "es2023,dom",
        "consumer.ts",
        "quickstart.ts",
      ];
      const result = await exec(process.execPath, [tsc, ...args], { cwd: project }).then(
        () => "ok",
        (e: { stdout: string }) => e.stdout,
      );
      expect(result, `${module}/${moduleResolution}`).toBe("ok");
    }
    await exec(
      process.execPath,
      [
        tsc,
        "--outDir",
        "out",
        "--target",
        "es2023",
        "--module",
        "nodenext",
        "--moduleResolution",
        "nodenext",
        "--types",
        "node",
        "--lib",
        "es2023,dom",
        "quickstart.ts",
      ],
      {
        cwd: project,
      },
    );
    const { stdout } = await exec(process.execPath, [join(project, "out/quickstart.js")], {
      cwd: project,
      timeout: 60_000,
    });
    const steps = stdout
      .trim()
      .split("\n")
      .filter((line) => /^\d\. /.test(line));
    expect(steps).toHaveLength(9);
    expect(steps[8]).toBe("9. A call through the signed-out client is refused before sending (ERR_SIGNED_OUT)");
  }, 300_000);
});

describe("the package's metadata", () => {
  it("publint --strict and arethetypeswrong (ESM-only profile) find nothing", async () => {
    const publint = await exec(process.execPath, [join(root, "node_modules/publint/src/cli.js"), "--strict", tarball], {
      cwd: root,
    }).then(
      (r) => r,
      (e: { stdout: string; stderr: string; code: number }) => e,
    );
    expect(`${publint.stdout}${publint.stderr}`).not.toMatch(/error|warning|suggestion/i);
    const attw = await exec(
      process.execPath,
      [
        join(root, "node_modules/@arethetypeswrong/cli/dist/index.js"),
        tarball,
        "--profile",
        "esm-only",
        "--format",
        "ascii",
      ],
      { cwd: root },
    ).then(
      (r) => ({ ...r, code: 0 }),
      (e: { stdout: string; stderr: string; code: number }) => e,
    );
    expect(attw.code, attw.stdout + attw.stderr).toBe(0);
  });
});
