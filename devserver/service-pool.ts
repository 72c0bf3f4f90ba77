/**
 * Warm shells for a published service, as ML Server keeps them: each shell is a Python or R
 * process (see `Kernel`) that loaded the service's snapshot and ran its init code once; each
 * request runs the service's code in an idle shell, starting from the variables the init code left
 * (reset between requests) and from the shell's files as they were then. A shell whose run failed,
 * ran out of time or was cancelled is thrown away and replaced, so no request sees another's mess.
 *
 * This is a DEVELOPMENT STAND-IN, NOT A SANDBOX: the code runs with the dev server's rights.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import type { Engine } from "./engines.js";
import type { InterpreterBudget } from "./interpreters.js";
import type { Kernel, KernelLimits, KernelReply } from "./kernel.js";

/** What a service runs. */
export interface ServiceCode {
  code: string;
  initCode?: string;
  /** A snapshot archive (see `CreateSnapshot`) whose workspace and files each shell starts from. */
  snapshot?: Buffer;
  /** Declared input types by name, so the shell binds data frames, vectors and matrices as ML Server does. */
  inputTypes: Record<string, string>;
  outputs: string[];
  /** Declared output types by name (R sends a `vector` of one as an array, other values of one as scalars). */
  outputTypes: Record<string, string>;
  outputFileNames: string[];
}

/** Shells started with the pool, and the most that run at once. */
export interface PoolSizes {
  initial: number;
  max: number;
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

/** Shells that start (their process and init code) at once: more would only share the CPUs. */
const STARTS_AT_ONCE = availableParallelism();

const failed = (errorMessage: string, consoleOutput = ""): ExecutionResult => ({
  success: false,
  errorMessage,
  consoleOutput,
  changedFiles: [],
  outputParameters: {},
  outputFiles: {},
});

interface Shell {
  kernel: Kernel;
  dir: string;
  cwd: string;
  /** Resolves to the files present after init, or to why the shell could not start. */
  ready: Promise<{ files: Set<string> } | { problem: string }>;
}

export class ServicePool {
  readonly #idle: Shell[] = [];
  readonly #all = new Set<Shell>();
  readonly #waiting: ((shell: Shell | undefined) => void)[] = [];
  #closed = false;
  /** Shells whose process or init code is still starting. */
  #starting = 0;
  /** Idle shells given back to the budget: the pool keeps that many fewer warm until resized. */
  #yielded = 0;

  constructor(
    private readonly engine: Engine,
    private readonly service: ServiceCode,
    private sizes: PoolSizes,
    private readonly limits: KernelLimits,
    /** Called for each shell started (the dev server counts them). */
    private readonly onShellStart: () => void,
    /** The server's interpreters: shells start only while it has room, and idle ones give it back. */
    private readonly budget: Pick<InterpreterBudget, "free" | "makeRoom" | "onReclaim">,
  ) {
    this.#stopReclaiming = budget.onReclaim(() => this.#reclaim());
    this.#fill();
  }

  readonly #stopReclaiming: () => void;

  /** How many shells the pool holds, busy or idle. */
  get size(): number {
    return this.#all.size;
  }

  /** Runs the service once with `inputs` in a warm shell; aborting cancels the run (its shell is replaced). */
  async run(inputs: Record<string, unknown>, signal?: AbortSignal): Promise<ExecutionResult> {
    const shell = await this.#acquire(signal);
    if (!shell)
      return failed(
        signal?.aborted ? "the run was cancelled" : "the service was changed or removed while the call waited",
      );
    const ready = await shell.ready;
    if ("problem" in ready) {
      this.#discard(shell);
      return failed(ready.problem);
    }
    const limits = { ...this.limits, ...(signal && { signal }) };
    const { reply, consoleOutput, stopped } = await shell.kernel.run<KernelReply>(
      {
        op: "execute",
        reset: true,
        code: this.service.code,
        inputs,
        types: this.service.inputTypes,
        outputs: this.service.outputs,
        outputTypes: this.service.outputTypes,
      },
      limits,
    );
    if (stopped !== undefined || !reply?.success) {
      this.#discard(shell);
      return failed(stopped ?? reply?.errorMessage ?? "the run failed", consoleOutput);
    }
    try {
      const written = (await readdir(shell.cwd)).filter((name) => !ready.files.has(name));
      const outputFiles: Record<string, string> = {};
      for (const name of this.service.outputFileNames) {
        if (written.includes(name)) outputFiles[name] = (await readFile(join(shell.cwd, name))).toString("base64");
      }
      // The next request starts from the files the init left.
      await Promise.all(written.map((name) => rm(join(shell.cwd, name), { recursive: true, force: true })));
      this.#release(shell);
      return {
        success: true,
        errorMessage: "",
        consoleOutput,
        changedFiles: written,
        outputParameters: reply.outputParameters ?? {},
        outputFiles,
      };
    } catch (error) {
      this.#discard(shell);
      return failed(`the run's files could not be read: ${(error as Error).message}`, consoleOutput);
    }
  }

  /** New sizes from the pool API: surplus idle shells stop, more start after the answer is sent. */
  resize(sizes: PoolSizes): void {
    this.sizes = sizes;
    this.#yielded = 0;
    while (this.#all.size > sizes.max && this.#idle.length > 0) this.#discard(this.#idle.pop()!, false);
    setImmediate(() => this.#fill());
  }

  /** Stops every shell; calls waiting for one fail, running ones are stopped. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#stopReclaiming();
    for (const waiter of this.#waiting.splice(0)) waiter(undefined);
    await Promise.all([...this.#all].map((shell) => this.#stopShell(shell)));
    this.#all.clear();
    this.#idle.length = 0;
  }

  /**
   * Starts shells up to the initial size, a few at a time (each next one when one is ready), and
   * only while the server's interpreter budget has room: a pool never starves sessions of it.
   */
  #fill(): void {
    const target = Math.min(this.sizes.initial, this.sizes.max) - this.#yielded;
    while (!this.#closed && this.#all.size < target && this.#starting < STARTS_AT_ONCE && this.budget.free > 0) {
      this.#idle.push(this.#start());
    }
  }

  async #acquire(signal?: AbortSignal): Promise<Shell | undefined> {
    if (this.#closed || signal?.aborted) return undefined;
    // Room for one more shell: idle shells of other pools give way (they are only a cache).
    if (this.#idle.length === 0 && this.#all.size < this.sizes.max && this.budget.free <= 0)
      await this.budget.makeRoom();
    if (this.#closed || signal?.aborted) return undefined;
    const idle = this.#idle.shift();
    if (idle) return idle;
    // A new shell while the budget allows; with none left, wait for one of this pool's, or (the
    // pool has none) the start refuses with 503.
    if (this.#all.size < this.sizes.max && (this.budget.free > 0 || this.#all.size === 0)) return this.#start();
    return new Promise((resolve) => {
      const waiter = (shell: Shell | undefined) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(shell);
      };
      const onAbort = () => {
        this.#waiting.splice(this.#waiting.indexOf(waiter), 1);
        resolve(undefined);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }

  /** Gives one idle shell back to the budget (another pool or a session needs it); false if none. */
  async #reclaim(): Promise<boolean> {
    const shell = this.#idle.pop();
    if (!shell) return false;
    this.#all.delete(shell);
    this.#yielded++;
    await this.#stopShell(shell);
    return true;
  }

  #release(shell: Shell): void {
    if (this.#closed) return void this.#discard(shell, false);
    if (this.#all.size > this.sizes.max) return void this.#discard(shell, false);
    const waiter = this.#waiting.shift();
    if (waiter) waiter(shell);
    else this.#idle.push(shell);
  }

  /** Throws a shell away; a waiting call gets a new one, and the pool is kept at its initial size. */
  #discard(shell: Shell, replace = true): void {
    this.#all.delete(shell);
    const index = this.#idle.indexOf(shell);
    if (index >= 0) this.#idle.splice(index, 1);
    void this.#stopShell(shell).then(() => this.#fill());
    if (!replace || this.#closed) return;
    const waiter = this.#waiting.shift();
    if (!waiter) return this.#fill();
    try {
      waiter(this.#start());
    } catch {
      // The budget is spent elsewhere: the call fails rather than waiting for nothing.
      waiter(undefined);
    }
  }

  #start(): Shell {
    this.onShellStart();
    // Synchronous: the process starts in this folder, and a shell is handed out at once.
    const dir = mkdtempSync(join(tmpdir(), "mlserver-devserver-shell-"));
    const cwd = join(dir, "work");
    mkdirSync(cwd);
    let kernel: Kernel;
    try {
      kernel = this.engine.start(cwd, false);
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    this.#starting++;
    const ready = this.#initialize(kernel, dir, cwd);
    const started = () => {
      this.#starting--;
      this.#fill();
    };
    void ready.then(started, started);
    const shell: Shell = { kernel, dir, cwd, ready };
    this.#all.add(shell);
    return shell;
  }

  async #initialize(kernel: Kernel, dir: string, cwd: string): Promise<{ files: Set<string> } | { problem: string }> {
    if (this.service.snapshot) {
      const archive = join(dir, "snapshot.zip");
      await writeFile(archive, this.service.snapshot);
      const loaded = await this.engine.load(kernel, cwd, archive, this.limits);
      await rm(archive, { force: true });
      if (!loaded.reply?.success)
        return {
          problem: `the service's snapshot could not be loaded: ${loaded.stopped ?? loaded.reply?.errorMessage}`,
        };
    }
    const init = await kernel.run<KernelReply>({ op: "init", code: this.service.initCode ?? "" }, this.limits);
    if (init.stopped !== undefined || !init.reply?.success)
      return {
        problem: init.stopped
          ? `the service's init code: ${init.stopped}`
          : (init.reply?.errorMessage ?? "the service's init code failed"),
      };
    return { files: new Set(await readdir(cwd)) };
  }

  async #stopShell(shell: Shell): Promise<void> {
    await shell.kernel.dispose();
    await rm(shell.dir, { recursive: true, force: true });
  }
}
