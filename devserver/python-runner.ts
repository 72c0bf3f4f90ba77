/**
 * Runs a published Python service's code with the machine's python3, as ML Server does for Python
 * services: inputs are bound as variables, the code runs, outputs are read back by name.
 *
 * This is a DEVELOPMENT STAND-IN, NOT A SANDBOX: the code runs with the dev server's rights. The dev
 * server listens on loopback only; never expose it.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface PythonRun {
  code: string;
  initCode?: string;
  inputs: Record<string, unknown>;
  outputs: string[];
  outputFileNames?: string[];
  timeLimitMs: number;
  outputLimitBytes: number;
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

// The runner: inputs become globals, print() output is captured, outputs are read back by name;
// data frames travel as lists of records and matrices as lists of rows, which is how JSON holds them.
const RUNNER = String.raw`
import io, json, sys, contextlib, traceback
job = json.load(sys.stdin)
scope = dict(job["inputs"])
console = io.StringIO()
result = {"success": True, "errorMessage": "", "outputParameters": {}}
try:
    with contextlib.redirect_stdout(console), contextlib.redirect_stderr(console):
        if job.get("init"):
            exec(compile(job["init"], "<initCode>", "exec"), scope)
        exec(compile(job["code"], "<code>", "exec"), scope)
    for name in job["outputs"]:
        if name not in scope:
            raise NameError("output parameter '%s' was not set by the code" % name)
        result["outputParameters"][name] = scope[name]
    json.dumps(result["outputParameters"])
except Exception as error:
    result = {"success": False, "errorMessage": "".join(traceback.format_exception_only(type(error), error)).strip(), "outputParameters": {}}
result["consoleOutput"] = console.getvalue()
sys.stdout.write("\n" + json.dumps(result, default=str))
`;

export async function runPython(run: PythonRun): Promise<ExecutionResult> {
  const dir = await mkdtemp(join(tmpdir(), "mlserver-devserver-run-"));
  try {
    const outcome = await new Promise<ExecutionResult>((resolve) => {
      const child = spawn("python3", ["-I", "-c", RUNNER], { cwd: dir, stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      let failure: string | undefined;
      const fail = (message: string) => {
        failure ??= message;
        child.kill("SIGKILL");
      };
      const timer = setTimeout(() => fail(`the code ran longer than the ${run.timeLimitMs} ms limit and was stopped`), run.timeLimitMs);
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk;
        if (stdout.length > run.outputLimitBytes) fail(`the code produced more than ${run.outputLimitBytes} bytes of output and was stopped`);
      });
      child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk).slice(-10_000)));
      child.on("error", (error) => fail(`python3 could not be started: ${error.message}`));
      child.on("close", () => {
        clearTimeout(timer);
        const last = stdout.slice(stdout.lastIndexOf("\n") + 1);
        if (!failure) {
          try {
            const parsed = JSON.parse(last) as ExecutionResult;
            return resolve({ ...parsed, changedFiles: [], outputFiles: {} });
          } catch {
            failure = `the Python runner failed: ${stderr.trim().split("\n").at(-1) ?? "no output"}`;
          }
        }
        resolve({ success: false, errorMessage: failure, consoleOutput: "", changedFiles: [], outputParameters: {}, outputFiles: {} });
      });
      child.stdin.end(JSON.stringify({ code: run.code, init: run.initCode ?? "", inputs: run.inputs, outputs: run.outputs }));
    });
    if (outcome.success) {
      const written = await readdir(dir);
      outcome.changedFiles = written;
      for (const name of run.outputFileNames ?? []) {
        if (written.includes(name)) outcome.outputFiles[name] = (await readFile(join(dir, name))).toString("base64");
      }
    }
    return outcome;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
