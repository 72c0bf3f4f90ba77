/**
 * `mlserver session`: an interactive remote prompt on a new session (mrsdeploy's `REMOTE>`). Each
 * complete input runs on the server, its console output streaming here; `put`, `get` and `exit`
 * are local commands. On a terminal: line editing and history (kept between runs in the cache
 * folder), a `...` prompt while a block is open, and Ctrl-C cancelling the running code (at the
 * prompt it clears the line). Without a terminal it reads its input as a script, without prompts.
 * The session is closed however the prompt ends.
 */
import { defineCommand, type Flags, type Input, type ProfileFlags } from "../command.js";
import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { connect, context, runtimeOf } from "../context.js";
import { EXIT, interrupts, UsageError } from "../output.js";

const HELP_TEXT = `Code runs in the remote session; these run here:
  put <local file> [<remote name>]   upload a file into the session's working directory
  get <remote file> [<local path>]   download a file the session has
  exit                               close the session and leave (or Ctrl-D)
Ctrl-C cancels running code; at the prompt it clears the line.`;

/**
 * Whether `code` needs more lines: an open bracket or string, a trailing `\`, or (Python) a block still being typed.
 */
export function needsMore(code: string, runtime: "Python" | "R"): boolean {
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < code.length; i++) {
    const c = code[i]!;
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === "#") {
      while (i < code.length && code[i] !== "\n") i++;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if ("([{".includes(c)) depth++;
    else if (")]}".includes(c)) depth--;
  }
  if (quote || depth > 0 || code.endsWith("\\")) return true;
  // A Python block (a line ending with ':') ends at an empty line.
  if (runtime === "Python") return code.split("\n").some((line) => /:\s*(#.*)?$/.test(line)) && !code.endsWith("\n");
  return false;
}

const FLAGS = { runtime: { type: "string" } } as const satisfies Flags;

export const session = defineCommand({
  name: "session",
  summary: "An interactive prompt on a new session on the server",
  usage: `mlserver session [--runtime Python|R]
    An interactive prompt on a new session on the server (mrsdeploy's REMOTE>): each input runs there
    and its console output streams here; a block or an open bracket continues on a ... prompt. put
    <file> uploads a file, get <file> downloads one, exit (or Ctrl-D) closes the session. Ctrl-C
    cancels running code. History is kept in the cache folder. Without a terminal, it runs its input.`,
  examples: ["mlserver session", "mlserver session --runtime R --profile prod"],
  profile: true,
  flags: FLAGS,
  run: prompt,
});

async function prompt(input: Input<typeof FLAGS & ProfileFlags>): Promise<number> {
  const ctx = await context(input);
  const { streams } = input;
  if (ctx.positionals.length > 0)
    throw new UsageError("session takes no arguments: mlserver session [--runtime Python|R].");
  const runtime = runtimeOf("", ctx.values.runtime);
  const conn = await connect(ctx);
  const { checkFileName, getSessionFile, putSessionFiles, remoteExecute, RemoteExecutionError, saveServerFiles } =
    await import("../runtime.js");
  const created = await conn.client.POST("/sessions", { body: { name: "mlserver session", runtimeType: runtime } });
  if (!created.response.ok)
    throw (await import("../runtime.js")).apiError("Starting a session", created.response, created.error);
  const sessionId = created.data!.sessionId!;
  const path = { params: { path: { id: sessionId } } };
  try {
    return await repl();
  } finally {
    const closed = await conn.client.DELETE("/sessions/{id}/force", path).catch(() => undefined);
    if (closed?.response.ok && process.stdin.isTTY) ctx.out.note(`Closed session ${sessionId}.`);
  }

  /** Reads and runs input until exit, end of input or an interrupt at the prompt. */
  async function repl(): Promise<number> {
    const terminal = Boolean((process.stdin as { isTTY?: boolean }).isTTY);
    const { defaultCacheDirectory } = await import("../runtime.js");
    const historyFile = join(defaultCacheDirectory(), "session_history");
    const history = terminal
      ? (await readFile(historyFile, "utf8").catch(() => "")).split("\n").filter(Boolean).reverse().slice(0, 500)
      : [];
    if (terminal) await mkdir(dirname(historyFile), { recursive: true, mode: 0o700 }).catch(() => undefined);
    const rl = createInterface({
      input: process.stdin,
      output: streams.out as NodeJS.WritableStream,
      terminal,
      history,
      historySize: 500,
    });
    const prompt = runtime === "R" ? "REMOTE> " : "REMOTE>>> ";
    if (terminal)
      ctx.out.note(
        `Session ${sessionId} (${runtime}) on ${conn.server}. \`help\` lists the local commands; \`exit\` ` +
          `closes the session.`,
      );

    let running: AbortController | undefined;
    let pending = "";
    const cancelRunning = () => {
      if (!running) return false;
      running.abort(Object.assign(new Error("cancelled"), { name: "Interrupted" }));
      return true;
    };
    // Ctrl-C: a terminal in raw mode gives readline a keypress; otherwise a signal reaches the process.
    rl.on("SIGINT", () => {
      if (cancelRunning()) return;
      pending = "";
      streams.out.write("^C\n");
      rl.setPrompt(prompt);
      rl.prompt();
    });
    interrupts.handler = () => {
      if (!cancelRunning()) rl.close();
    };

    const local = async (line: string): Promise<boolean> => {
      const [word, first, second] = line.trim().split(/\s+/);
      if (word === "help" && first === undefined) {
        streams.out.write(`${HELP_TEXT}\n`);
        return true;
      }
      if (word === "put" && first !== undefined) {
        const bytes = await readFile(first);
        const name = second ?? basename(first);
        await putSessionFiles(conn.client, { sessionId, files: { [name]: bytes }, purpose: "into the session" });
        ctx.out.note(`Put ${first} into the session as ${name}.`);
        return true;
      }
      if (word === "get" && first !== undefined) {
        checkFileName(first, "get");
        const bytes = await getSessionFile(conn.client, { sessionId, fileName: first });
        // Into the folder here under the session's name, or to the path the user gave.
        const target = second === undefined ? resolve(first) : resolve(second);
        if (second === undefined) await saveServerFiles(".", { [first]: bytes });
        else await mkdir(dirname(target), { recursive: true }).then(() => writeFile(target, bytes));
        ctx.out.note(`Got ${first} into ${target}.`);
        return true;
      }
      return false;
    };

    const run = async (code: string) => {
      running = new AbortController();
      try {
        const result = await remoteExecute(conn.client, {
          code,
          sessionId,
          onOutput: (text) => void streams.out.write(text),
          signal: running.signal,
        });
        if (result.consoleOutput && !result.consoleOutput.endsWith("\n")) streams.out.write("\n");
      } catch (error) {
        if (error instanceof RemoteExecutionError) {
          if (error.consoleOutput && !error.consoleOutput.endsWith("\n")) streams.out.write("\n");
          ctx.out.note(ctx.out.style(error.errorMessage, "red"));
          return;
        }
        if ((error as Error).name !== "Interrupted") throw error;
        ctx.out.note(ctx.out.style("Cancelled.", "yellow"));
      } finally {
        running = undefined;
      }
    };

    let exitCode: number = EXIT.ok;
    try {
      rl.setPrompt(prompt);
      if (terminal) rl.prompt();
      for await (const line of rl) {
        if (!pending && line.trim() === "exit") break;
        if (terminal && line.trim()) void appendFile(historyFile, `${line}\n`, { mode: 0o600 }).catch(() => undefined);
        try {
          if (!pending && (await local(line))) {
            if (terminal) rl.prompt();
            continue;
          }
          pending = pending ? `${pending}\n${line}` : line;
          if (needsMore(line === "" ? `${pending}\n` : pending, runtime)) {
            rl.setPrompt("... ");
            if (terminal) rl.prompt();
            continue;
          }
          const code = pending;
          pending = "";
          if (code.trim()) await run(code);
        } catch (error) {
          // A failed command is reported and the prompt goes on; the session stays open.
          ctx.out.note(ctx.out.style(`mlserver: ${(error as Error).message}`, "red"));
          if (!terminal)
            exitCode = (error as { code?: unknown }).code === "ERR_UNSAFE_FILE_NAME" ? EXIT.unsafeFile : EXIT.server;
        }
        rl.setPrompt(prompt);
        if (terminal) rl.prompt();
      }
    } finally {
      interrupts.handler = undefined;
      rl.close();
    }
    return exitCode;
  }
}
