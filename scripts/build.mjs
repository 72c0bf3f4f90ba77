// `npm run build`: the type declarations (tsc), the bundled entries users import (esbuild: Node
// entries with shared chunks, and the browser build), and the CLI made executable. Dependencies
// stay external: the package's own dependencies resolve them. dist/ is emptied first: files of
// moved sources and chunks of earlier builds must not ship.
import { execFileSync } from "node:child_process";
import { chmodSync, rmSync } from "node:fs";
import { build } from "esbuild";

rmSync("dist", { recursive: true, force: true });
execFileSync(process.execPath, ["node_modules/typescript-native/bin/tsc", "-p", "tsconfig.build.json"], {
  stdio: "inherit",
});

const shared = {
  bundle: true,
  format: "esm",
  packages: "external",
  sourcemap: true,
  sourcesContent: true,
  logLevel: "warning",
};
await build({
  ...shared,
  entryPoints: [
    "src/index.ts",
    "src/building-blocks.ts",
    "src/codegen/index.ts",
    "devserver/index.ts",
    "src/cli/main.ts",
  ],
  outbase: ".",
  outdir: "dist/bundle",
  splitting: true,
  platform: "node",
  target: "node20.19",
  entryNames: "[dir]/[name]",
  chunkNames: "chunks/[name]-[hash]",
});
await build({
  ...shared,
  entryPoints: ["src/browser.ts"],
  outfile: "dist/bundle/browser/index.js",
  platform: "browser",
  target: "es2022",
});

chmodSync("dist/bundle/src/cli/main.js", 0o755);
