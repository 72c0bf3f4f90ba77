/**
 * The package as users get it: the tarball `npm pack` makes of the build that `npm test` made just
 * before the suite, installed into a fresh project. Packing without scripts does not rebuild dist/
 * while other test files run code from it. Needs the npm registry (for the dependencies).
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const exec = promisify(execFile);
export const root = resolve(import.meta.dirname, "../..");

export const npm = (args: string[], cwd: string) =>
  exec("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd,
    timeout: 240_000,
    maxBuffer: 16 * 1024 * 1024,
  });

export interface PackedInstall {
  tarball: string;
  /** The consumer project, with the package installed in its node_modules. */
  project: string;
  /** The installed `mlserver` binary. */
  bin: string;
}

/** The tarballs `npm pack` makes: the package, and the generator's toolchain beside it. */
export interface Tarballs {
  client: string;
  toolchain: string;
}

/** Packs the package and the toolchain workspace into `work`. */
export async function packTarballs(work: string): Promise<Tarballs> {
  if (!existsSync(join(root, "dist/bundle/src/index.js")) || !existsSync(join(root, "dist/bundle/src/cli/main.js")))
    await exec("npm", ["run", "build"], { cwd: root, timeout: 240_000 });
  const pack = async (...workspace: string[]) => {
    const { stdout } = await npm(
      ["pack", "--json", "--ignore-scripts", "--pack-destination", work, ...workspace],
      root,
    );
    return join(work, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
  };
  return { client: await pack(), toolchain: await pack("--workspace", "packages/codegen-toolchain") };
}

/** Packs the package into `work` and installs the tarball into `work/consumer`. */
export async function installPacked(work: string): Promise<PackedInstall> {
  const { client: tarball } = await packTarballs(work);
  const project = join(work, "consumer");
  mkdirSync(project);
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "consumer", version: "1.0.0", private: true, type: "module" }),
  );
  await npm(["install", tarball, "--prefer-offline"], project);
  return { tarball, project, bin: join(project, "node_modules/.bin/mlserver") };
}
