/**
 * `mlserver run <script>`: ML Server's compute from a shell script or cron (mrsdeploy's
 * `remoteScript`): a fresh session runs the script, its console output streams here, the files it
 * wrote (or those asked for) come back, a snapshot is kept if asked, and the session is closed.
 */
import { defineCommand, type Flags, type Input, type ProfileFlags } from "../command.js";
import { readFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { connect, context, runtimeOf } from "../context.js";
import { EXIT, interrupts, UsageError } from "../output.js";
import type { RemoteExecution, RemoteExecutionError as RemoteExecutionErrorType } from "../../index.js";

const FLAGS = {
  "input-file": { type: "string", multiple: true },
  "get-file": { type: "string", multiple: true },
  snapshot: { type: "string" },
  "output-dir": { type: "string" },
  runtime: { type: "string" },
} as const satisfies Flags;

export const run = defineCommand({
  name: "run",
  summary: "Run a script in a fresh session on the server",
  usage: `mlserver run <script.py | script.R> [--input-file <file>]... [--get-file <name>]... [--snapshot <name>]
                 [--output-dir <dir>] [--runtime Python|R]
    Run a script in a fresh session on the server (mrsdeploy's remoteScript): its console output
    streams here, the files it wrote (or the --get-file ones) are fetched into --output-dir (default
    here), --snapshot keeps what it left, and the session is closed. Exits 5 when the script failed.`,
  examples: [
    "mlserver run train.py --input-file data.csv --get-file model.pkl",
    'mlserver run nightly.py --snapshot nightly --output-dir results/ || echo "failed: $?"',
  ],
  profile: true,
  flags: FLAGS,
  run: runScript,
});

async function runScript(input: Input<typeof FLAGS & ProfileFlags>): Promise<number> {
  const ctx = await context(input);
  const { streams } = input;
  const [script, extra] = ctx.positionals;
  if (!script || extra !== undefined)
    throw new UsageError("run takes one script: mlserver run <script.py | script.R>.");
  const runtime = runtimeOf(script, ctx.values.runtime);
  const read = async (flag: string, path: string) => {
    try {
      return await readFile(path);
    } catch (error) {
      throw new UsageError(`${flag} ${path} cannot be read (${(error as NodeJS.ErrnoException).code}).`);
    }
  };
  const code = (await read("The script", script)).toString("utf8");
  const files: Record<string, Uint8Array> = {};
  for (const path of ctx.values["input-file"] ?? []) files[basename(path)] = await read("--input-file", path);
  const wanted = ctx.values["get-file"];
  const outputDir = resolve(ctx.values["output-dir"] ?? ".");
  const conn = await connect(ctx);
  const { remoteExecute, saveServerFiles, RemoteExecutionError } = await import("../runtime.js");
  const abort = new AbortController();
  interrupts.handler = () => {
    if (abort.signal.aborted) process.exit(EXIT.interrupted);
    ctx.out.note("\nCancelling the run and closing its session (Ctrl-C again to leave now)...");
    abort.abort(
      Object.assign(new Error("Interrupted: the run was cancelled and its session closed."), { name: "Interrupted" }),
    );
  };
  try {
    let run: RemoteExecution | RemoteExecutionErrorType;
    try {
      run = await remoteExecute(conn.client, {
        code,
        runtimeType: runtime,
        files,
        getFiles: wanted ?? "changed",
        ...(typeof ctx.values.snapshot === "string" && { snapshotName: ctx.values.snapshot }),
        // Console output is the run's result for people; with --json it is part of the JSON instead.
        ...(!ctx.out.json && { onOutput: (text: string) => void streams.out.write(text) }),
        signal: abort.signal,
      });
    } catch (error) {
      // A failed script is this command's result, with what it left: not an error of the CLI's.
      if (!(error instanceof RemoteExecutionError)) throw error;
      run = error;
    }
    const failed = run instanceof RemoteExecutionError ? run : undefined;
    const fetched = Object.keys(run.files);
    await saveServerFiles(outputDir, { ...run.files });
    const snapshotId = failed ? undefined : (run as RemoteExecution).snapshotId;
    if (ctx.out.json) {
      ctx.out.result(
        {
          success: !failed,
          errorMessage: failed?.errorMessage ?? "",
          consoleOutput: run.consoleOutput,
          changedFiles: run.changedFiles,
          files: fetched.map((f) => join(outputDir, f)),
          ...(failed && { missingFiles: failed.missingFiles }),
          ...(snapshotId && { snapshotId }),
        },
        () => undefined,
      );
    } else {
      if (run.consoleOutput && !run.consoleOutput.endsWith("\n")) streams.out.write("\n");
      if (fetched.length) ctx.out.note(`Fetched ${fetched.join(", ")} into ${outputDir}.`);
      if (snapshotId)
        ctx.out.note(`Snapshot ${snapshotId} (${String(ctx.values.snapshot)}) keeps what the script left.`);
      if (failed) {
        const missing = failed.missingFiles.length ? ` It left none of ${failed.missingFiles.join(", ")}.` : "";
        ctx.out.note(`mlserver: the script failed: ${failed.errorMessage}${missing}`);
      }
    }
    return failed ? EXIT.server : 0;
  } finally {
    interrupts.handler = undefined;
  }
}
