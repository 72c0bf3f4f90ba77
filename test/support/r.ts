/**
 * The R the dev server runs in tests: `Rscript` from Debian's r-base-core with r-cran-jsonlite,
 * which `.ci/run` installs (`MLSERVER_TEST_R` picks another). Without it the R tests are skipped,
 * and say so.
 */
import { spawnSync } from "node:child_process";

export const TEST_R = process.env.MLSERVER_TEST_R ?? "Rscript";

const probe = spawnSync(TEST_R, ["--vanilla", "-e", 'cat(requireNamespace("jsonlite", quietly = TRUE))'], {
  encoding: "utf8",
  timeout: 60_000,
});

/** Why the R tests cannot run here, or undefined when they can. */
export const rMissing: string | undefined = probe.error
  ? `${TEST_R} could not be started (${probe.error.message})`
  : probe.stdout.trim() !== "TRUE"
    ? `${TEST_R} has no jsonlite package`
    : undefined;

if (rMissing)
  console.warn(`R tests skipped: ${rMissing}; install r-base-core and r-cran-jsonlite (Debian) to run them.`);

/**
 * Runs R code in a fresh `Rscript` and returns what it wrote to stdout (`out`: a binary connection to it; Node gives R
 * a socket, which R cannot open).
 */
export function runR(code: string, input?: Buffer): Buffer {
  const result = spawnSync(TEST_R, ["--vanilla", "-e", `out <- pipe("cat", "wb")\n${code}\nclose(out)`], {
    input,
    timeout: 60_000,
  });
  if (result.status !== 0) throw new Error(`R failed: ${result.stderr.toString()}`);
  return result.stdout;
}
