/**
 * The packed package as users of today's tools install it: npm 11, pnpm 10, yarn 4 and bun, each in
 * fresh projects holding TypeScript 5.9, 6.0 or 7.0, or none. Every install needs no flag and
 * reports no error or peer conflict; a consumer file then type-checks with that project's own
 * `tsc`, and an `@ts-expect-error` on a wrong path proves the types are real (were they `any`, the
 * directive would be unused, and that is an error). Then the generator, from its toolchain package,
 * writes the same bytes in a TypeScript 7 project, a 5.9 one and one without TypeScript; a
 * toolchain broken by hand is a typed error. Needs the npm registry.
 */
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { npm, packTarballs, root, type Tarballs } from "../support/packed.js";
import { tempDir } from "../support/tmp.js";

const exec = promisify(execFile);

/** The package managers, as the npm registry ships them (bun's binary is in its package). */
const TOOLS = { pnpm: "pnpm@10.34.8", yarn: "@yarnpkg/cli-dist@4.18.1", bun: "bun@1.4.5" } as const;
const TYPESCRIPTS = ["5.9.3", "6.0.3", "7.0.2", undefined] as const;
type Manager = "npm" | keyof typeof TOOLS;

const TYPES_NODE = (
  JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { devDependencies: Record<string, string> }
).devDependencies["@types/node"]!;

const CONSUMER = `import { createMlServerClient, mlServerLogin } from "mlserver-client";
const auth = mlServerLogin({ username: "admin", password: "secret" });
const client = createMlServerClient({ baseUrl: "http://127.0.0.1:12800", auth });
export const status = client.GET("/status");
// @ts-expect-error: ML Server has no such path, and the types must say so
export const wrong = client.GET("/no-such-path");
`;

const TSC_ARGS = [
  "--noEmit",
  "--strict",
  "--skipLibCheck",
  "false",
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
];

let work: string;
let tarballs: Tarballs;
let tools: string;

beforeAll(async () => {
  work = await tempDir("mlserver-client-install-");
  tarballs = await packTarballs(work);
  tools = join(work, "tools");
  await npm(["install", "--no-save", "--prefix", tools, ...Object.values(TOOLS)], root);
}, 300_000);

/** The command that runs `manager` with `args`. */
function command(manager: Manager, args: string[]): [string, string[]] {
  const bin = join(tools, "node_modules");
  switch (manager) {
    case "npm":
      return ["npm", [...args, "--no-audit", "--no-fund"]];
    case "pnpm":
      return [process.execPath, [join(bin, "pnpm/bin/pnpm.cjs"), ...args]];
    case "yarn":
      return [process.execPath, [join(bin, "@yarnpkg/cli-dist/bin/yarn.js"), ...args]];
    case "bun":
      return [join(bin, "bun/bin/bun.exe"), args];
  }
}

/** A fresh project with the client (and `extra`) as dependencies and `typescript` if given. */
function project(
  name: string,
  manager: Manager,
  typescript: string | undefined,
  extra: Record<string, string> = {},
): string {
  const dir = join(work, name);
  mkdirSync(dir);
  const devDependencies = typescript ? { typescript, "@types/node": TYPES_NODE } : {};
  const dependencies = { "mlserver-client": `file:${tarballs.client}`, ...extra };
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({ name, version: "1.0.0", private: true, type: "module", dependencies, devDependencies }),
  );
  // Yarn 4: the node_modules layout (tsc resolves through node_modules) and the npm registry.
  if (manager === "yarn")
    writeFileSync(
      join(dir, ".yarnrc.yml"),
      'nodeLinker: node-modules\nnpmRegistryServer: "https://registry.npmjs.org"\n',
    );
  return dir;
}

/** Installs with no flag; returns what the manager printed. */
async function install(manager: Manager, dir: string): Promise<string> {
  const [file, args] = command(manager, ["install"]);
  // CI=true makes yarn 4 refuse to write a lockfile; a first install in a fresh project must.
  const env = { ...process.env, YARN_ENABLE_IMMUTABLE_INSTALLS: "false", YARN_ENABLE_TELEMETRY: "0" };
  const { stdout, stderr } = await exec(file, args, {
    cwd: dir,
    env,
    timeout: 240_000,
    maxBuffer: 16 * 1024 * 1024,
  }).catch((error: { stdout: string; stderr: string; code: number }) => {
    throw new Error(`${manager} install exited with ${error.code}:\n${error.stdout}\n${error.stderr}`);
  });
  return `${stdout}\n${stderr}`;
}

/** The project's own tsc over `files`: "ok", or what it reported. */
async function typeCheck(dir: string, files: string[]): Promise<string> {
  return exec(process.execPath, [join(dir, "node_modules/typescript/bin/tsc"), ...TSC_ARGS, ...files], {
    cwd: dir,
  }).then(
    () => "ok",
    (error: { stdout: string }) => error.stdout,
  );
}

describe.each(["npm", "pnpm", "yarn", "bun"] as const)("installed with %s", (manager) => {
  it.each(TYPESCRIPTS.map((typescript) => [typescript ?? "no TypeScript", typescript] as const))(
    "installs in a project with %s, with no flag and no conflict, and type-checks a consumer",
    async (label, typescript) => {
      const dir = project(`${manager}-${label.replace(/\W+/g, "-")}`, manager, typescript);
      const printed = await install(manager, dir);
      expect(printed).not.toMatch(/ERESOLVE|peer dep|unmet peer|incorrect peer|YN0060|error/i);
      const { stdout } = await exec(
        process.execPath,
        [
          "--input-type=module",
          "-e",
          'const m = await import("mlserver-client"); console.log(typeof m.createMlServerClient)',
        ],
        { cwd: dir },
      );
      expect(stdout.trim()).toBe("function");
      if (typescript === undefined) return;
      writeFileSync(join(dir, "consumer.ts"), CONSUMER);
      expect(await typeCheck(dir, ["consumer.ts"])).toBe("ok");
      // The check can fail: the directive on a real path is unused, and tsc says so. Once per
      // TypeScript (with npm): a layout that lost the types fails the check above already, since
      // the directive on the wrong path is then unused too.
      if (manager !== "npm") return;
      writeFileSync(join(dir, "consumer.ts"), CONSUMER.replace('"/no-such-path"', '"/status"'));
      expect(await typeCheck(dir, ["consumer.ts"])).toContain("TS2578");
    },
    300_000,
  );
});

describe("the generator, whatever TypeScript the project has", () => {
  const specText = JSON.stringify({
    swagger: "2.0",
    info: { title: "scorer", version: "1.0" },
    paths: {
      "/api/scorer/1.0": {
        post: {
          operationId: "score",
          parameters: [{ in: "body", name: "body", schema: { type: "object", properties: { x: { type: "number" } } } }],
          responses: { "200": { description: "ok" } },
        },
      },
    },
  });

  it("writes byte-identical files in TypeScript 7, 5.9 and no-TypeScript projects, which the TypeScript 7 " +
    "project's tsc accepts", async () => {
    const outputs: string[] = [];
    for (const typescript of ["7.0.2", "5.9.3", undefined]) {
      const dir = project(`generate-${typescript ?? "none"}`, "npm", typescript, {
        "mlserver-client-toolchain": `file:${tarballs.toolchain}`,
      });
      expect(await install("npm", dir)).not.toMatch(/ERESOLVE|error/i);
      writeFileSync(join(dir, "swagger.json"), specText);
      await exec(join(dir, "node_modules/.bin/mlserver"), ["generate", "swagger.json", "-o", "gen/scorer.ts"], {
        cwd: dir,
      });
      const written =
        readFileSync(join(dir, "gen/scorer.ts"), "utf8") + readFileSync(join(dir, "gen/scorer.security.ts"), "utf8");
      outputs.push(written);
      if (typescript === "7.0.2") {
        writeFileSync(
          join(dir, "use.ts"),
          'import type { paths } from "./gen/scorer.js";\nexport type Body = ' +
            'paths["/api/scorer/1.0"]["post"]["requestBody"];\n',
        );
        expect(await typeCheck(dir, ["use.ts"])).toBe("ok");
        // A toolchain whose own TypeScript is gone resolves the project's 7.0: a typed error naming the fix.
        rmSync(join(dir, "node_modules/mlserver-client-toolchain/node_modules/typescript"), { recursive: true });
        const broken = await exec(
          join(dir, "node_modules/.bin/mlserver"),
          ["generate", "swagger.json", "-o", "gen/other.ts"],
          { cwd: dir },
        ).then(
          () => undefined,
          (error: { code: number; stderr: string }) => error,
        );
        expect(broken?.code).toBe(1);
        expect(broken?.stderr).toContain("ERR_OPTIONAL_DEPENDENCY_MISSING");
        expect(broken?.stderr).toContain("TypeScript (7.0.2) has no compiler API");
        expect(broken?.stderr).toContain("npm install --save-dev mlserver-client-toolchain");
        expect(broken?.stderr).not.toContain("TypeError");
      }
    }
    expect(outputs[0]).toContain("export interface paths");
    expect(outputs[1]).toBe(outputs[0]);
    expect(outputs[2]).toBe(outputs[0]);
  }, 600_000);
});
