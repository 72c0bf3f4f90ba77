/**
 * Runs a published Python service's code once, as ML Server does for Python services: inputs are
 * bound as variables, the code runs, outputs are read back by name. Each run gets its own Python
 * process (see `PythonKernel`) and working directory, both gone when the run ends.
 *
 * This is a DEVELOPMENT STAND-IN, NOT A SANDBOX: the code runs with the dev server's rights. The dev
 * server listens on loopback only; never expose it.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PythonKernel, type KernelReply } from "./python-kernel.js";

export interface PythonRun {
  code: string;
  initCode?: string;
  inputs: Record<string, unknown>;
  outputs: string[];
  outputFileNames?: string[];
  /** A snapshot archive (see `CreateSnapshot`) whose workspace and files the run starts from. */
  snapshot?: Buffer;
  timeLimitMs: number;
  outputLimitBytes: number;
  /** Aborting stops the run and everything it started (a cancelled batch). */
  signal?: AbortSignal;
}

/** A result in the shape ML Server returns, plus the files the code wrote (base64). */
export interface ExecutionResult {
  success: boolean;
  errorMessage: string;
  consoleOutput: string;
  changedFiles: string[];
  outputParameters: Record<string, unknown>;
  outputFiles: Record<string, string>;
}


const failed = (errorMessage: string, consoleOutput = ""): ExecutionResult => ({ success: false, errorMessage, consoleOutput, changedFiles: [], outputParameters: {}, outputFiles: {} });

export async function runPython(run: PythonRun): Promise<ExecutionResult> {
  const dir = await mkdtemp(join(tmpdir(), "mlserver-devserver-run-"));
  const cwd = join(dir, "work");
  await mkdir(cwd);
  const kernel = new PythonKernel(cwd, false);
  try {
    const limits = { timeLimitMs: run.timeLimitMs, outputLimitBytes: run.outputLimitBytes, ...(run.signal && { signal: run.signal }) };
    let before: string[] = [];
    if (run.snapshot) {
      const archive = join(dir, "snapshot.zip");
      await writeFile(archive, run.snapshot);
      const loaded = await kernel.run<KernelReply>({ op: "load", path: archive }, limits);
      if (!loaded.reply?.success) return failed(`the service's snapshot could not be loaded: ${loaded.stopped ?? loaded.reply?.errorMessage}`);
      before = await readdir(cwd);
    }
    const { reply, consoleOutput, stopped } = await kernel.run<KernelReply>(
      { op: "execute", code: run.code, init: run.initCode ?? "", inputs: run.inputs, outputs: run.outputs },
      limits,
    );
    if (stopped !== undefined || !reply) return failed(stopped ?? "the run failed", consoleOutput);
    if (!reply.success) return failed(reply.errorMessage ?? "the run failed", consoleOutput);
    const written = (await readdir(cwd)).filter((name) => !before.includes(name));
    const outputFiles: Record<string, string> = {};
    for (const name of run.outputFileNames ?? []) {
      if (written.includes(name)) outputFiles[name] = (await readFile(join(cwd, name))).toString("base64");
    }
    return { success: true, errorMessage: "", consoleOutput, changedFiles: written, outputParameters: reply.outputParameters ?? {}, outputFiles };
  } finally {
    await kernel.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}
