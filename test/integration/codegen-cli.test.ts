/**
 * The generator through the CLI in child processes: the installed bin, and `generate-all --check`
 * as `npm run generate:check` runs it. (The generator itself is tested in test/unit/codegen.test.ts.)
 */
import { execFile } from "node:child_process";
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { minimalSpec as minimal } from "../support/specs.js";
import { tempDir } from "../support/tmp.js";

const run = promisify(execFile);

describe("the generator through the CLI", () => {
  it("the installed bin, `npx mlserver generate`, works", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "bin.yaml"), minimal());
    const { stdout } = await run("npx", [
      "--no-install",
      "mlserver",
      "generate",
      join(dir, "bin.yaml"),
      "-o",
      join(dir, "bin.ts"),
    ]);
    expect(stdout).toContain("Wrote:");
    // This spec declares no security at all, so no operation is in the map.
    expect(await readFile(join(dir, "bin.security.ts"), "utf8")).toContain(
      "export const operationSecurity = {} as const;",
    );
    expect(await readFile(join(dir, "bin.ts"), "utf8")).toMatch(/getThing/);
    const failed = await run("npx", [
      "--no-install",
      "mlserver",
      "generate",
      join(dir, "absent.yaml"),
      "-o",
      join(dir, "x.ts"),
    ]).catch((e: { code: number; stderr: string }) => e);
    expect((failed as { code: number }).code).toBe(1);
    expect((failed as { stderr: string }).stderr).toMatch(/ERR_SPEC_READ/);
  });

  it("the CLI's generate-all --check exits non-zero on drift, as npm run generate:check does", async () => {
    const dir = await tempDir();
    await copyFile("openapi/mlserver.yaml", join(dir, "api.yaml"));
    await writeFile(
      join(dir, "targets.json"),
      JSON.stringify([{ spec: join(dir, "api.yaml"), output: join(dir, "api.ts") }]),
    );
    const child = await run(process.execPath, [
      "--import",
      "tsx",
      "src/cli/main.ts",
      "generate-all",
      "--check",
      "--targets",
      join(dir, "targets.json"),
    ]).catch((e: { code: number; stderr: string }) => e);
    expect((child as { code: number }).code).toBe(1);
    expect((child as { stderr: string }).stderr).toMatch(
      /ERR_GENERATED_STALE: Generated files are stale or missing: .*api\.ts, .*api\.security\.ts/,
    );
  });
});
