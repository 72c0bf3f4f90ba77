import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  // The package's own name resolves to its sources, as tsconfig.json's paths say for tsc and tsx.
  resolve: {
    alias: [
      { find: /^mlserver-client$/, replacement: here("./src/index.ts") },
      { find: /^mlserver-client\/building-blocks$/, replacement: here("./src/building-blocks.ts") },
      { find: /^mlserver-client\/codegen$/, replacement: here("./src/codegen/index.ts") },
      { find: /^mlserver-client\/devserver$/, replacement: here("./devserver/index.ts") },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    typecheck: {
      enabled: true,
      include: ["test/**/*.test-d.ts"],
      tsconfig: "tsconfig.json",
      checker: "node_modules/typescript-native/bin/tsc",
    },
    // Budgets, not promises: every test must pass on a busy 2-core machine, so each gets at least
    // three times what it takes alone (the slowest, a whole publish-generate-batch cycle, ~20 s).
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: "forks",
    // Three files at a time on two cores: most of the suite waits on servers and child processes,
    // and every test is written to hold under load (the reliability test runs beside CPU burners).
    maxWorkers: 3,
    // The load test measures the heap after a forced collection.
    execArgv: ["--expose-gc"],
  },
});
