/**
 * `mlserver run <script>`: ML Server's compute from a shell script or cron (mrsdeploy's
 * `remoteScript`): a fresh session runs the script, its console output streams here, the files it
 * wrote (or those asked for) come back, a snapshot is kept if asked, and the session is closed.
 */
import { readFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { connect, context, runtimeOf } from "./context.js";
import { EXIT, interrupts, UsageError, type CliStreams } from "./output.js";

export async function runCommand(args: readonly string[], streams: CliStreams): Promise<number> {
  const ctx = await context(
    args,
    {
      "input-file": { type: "string", multiple: true },
      "get-file": { type: "string", multiple: true },
      snapshot: { type: "string" },
      "output-dir": { type: "string" },
      runtime: { type: "string" },
    },
    streams,
  );
  const [script, extra] = ctx.positionals;
  if (!script || extra !== undefined) throw new UsageError("run takes one script: mlserver run <script.py | script.R>.");
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
  for (const path of (ctx.values["input-file"] as unknown as string[] | undefined) ?? []) files[basename(path)] = await read("--input-file", path);
  const wanted = ctx.values["get-file"] as unknown as string[] | undefined;
  const outputDir = resolve((ctx.values["output-dir"] as string | undefined) ?? ".");
  const conn = await connect(ctx);
  const { remoteExecute, saveServerFiles } = await import("../index.js");
  const abort = new AbortController();
  interrupts.handler = () => {
    if (abort.signal.aborted) process.exit(EXIT.interrupted);
    ctx.out.note("\nCancelling the run and closing its session (Ctrl-C again to leave now)...");
    abort.abort(Object.assign(new Error("Interrupted: the run was cancelled and its session closed."), { name: "Interrupted" }));
  };
  try {
    const run = await remoteExecute(conn.client, {
      code,
      runtimeType: runtime,
      files,
      getFiles: wanted ?? "changed",
      ...(typeof ctx.values.snapshot === "string" && { snapshotName: ctx.values.snapshot }),
      // Console output is the run's result for people; with --json it is part of the JSON instead.
      ...(!ctx.out.json && { onOutput: (text: string) => void streams.out.write(text) }),
      signal: abort.signal,
    });
    const fetched = Object.keys(run.files);
    await saveServerFiles(outputDir, run.files);
    if (ctx.out.json) {
      ctx.out.result(
        {
          success: run.success,
          errorMessage: run.errorMessage,
          consoleOutput: run.consoleOutput,
          changedFiles: run.changedFiles,
          files: fetched.map((f) => join(outputDir, f)),
          ...(run.snapshotId && { snapshotId: run.snapshotId }),
        },
        () => undefined,
      );
    } else {
      if (run.consoleOutput && !run.consoleOutput.endsWith("\n")) streams.out.write("\n");
      if (fetched.length) ctx.out.note(`Fetched ${fetched.join(", ")} into ${outputDir}.`);
      if (run.snapshotId) ctx.out.note(`Snapshot ${run.snapshotId} (${String(ctx.values.snapshot)}) keeps what the script left.`);
      if (!run.success) ctx.out.note(`mlserver: the script failed: ${run.errorMessage}`);
    }
    return run.success ? 0 : EXIT.server;
  } finally {
    interrupts.handler = undefined;
  }
}
