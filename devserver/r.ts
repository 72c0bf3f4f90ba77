/**
 * Which R runs R services and sessions, found once: the `Rscript` a command or path names, its
 * version, and whether it has jsonlite (the kernel speaks JSON through it).
 */
import { execFile } from "node:child_process";

/** A usable R, or why there is none. */
export type RRuntime = { ok: true; executable: string; version: string } | { ok: false; problem: string };

const PROBE = 'cat(R.version$major, ".", R.version$minor, " ", requireNamespace("jsonlite", quietly = TRUE), sep = "")';

/** Starts `command` (an `Rscript`) once to learn whether it can run the dev server's R; never rejects. */
export function resolveR(command: string): Promise<RRuntime> {
  return new Promise((resolve) => {
    execFile(command, ["--vanilla", "-e", PROBE], { timeout: 60_000 }, (error, stdout) => {
      if (error) {
        const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
        return resolve({
          ok: false,
          problem: missing
            ? `R is not installed here (${command} was not found): install R and its jsonlite package (Debian: ` +
              `apt install r-base-core r-cran-jsonlite), or start the dev server with another Rscript (r option, --r)`
            : `the dev server's R (${command}) could not be started: ${error.message.split("\n")[0]}`,
        });
      }
      const [version, jsonlite] = stdout.trim().split(" ");
      if (!version || !/^\d+\.\d+/.test(version))
        return resolve({ ok: false, problem: `the dev server's R (${command}) did not answer as Rscript does` });
      if (jsonlite !== "TRUE")
        return resolve({
          ok: false,
          problem:
            `the dev server's R (${command}) lacks the jsonlite package, which its R kernel needs: ` +
            `install it there (install.packages("jsonlite"), or Debian's r-cran-jsonlite)`,
        });
      resolve({ ok: true, executable: command, version });
    });
  });
}
