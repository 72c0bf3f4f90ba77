/**
 * One interpreter process that keeps its state between commands: the engine of sessions (a
 * process for the session's life) and services' warm shells (see `ServicePool`), whatever the
 * language (see `python-kernel.ts`, `r-kernel.ts`). Code runs with the dev server's rights: a
 * DEVELOPMENT STAND-IN, NOT A SANDBOX.
 *
 * The protocol every kernel program speaks, and why:
 * - The process leads its own process group, so stopping a run stops whatever the code started
 *   (a subprocess included): nothing outlives a time limit.
 * - Console output (stdout, and stderr joined to it) streams to the dev server, which counts it and
 *   stops the run at the limit; the program never buffers it unboundedly, so memory stays bounded.
 * - Time limits count from the moment the program says it is ready (`{"ready": true}`), not from
 *   the spawn: starting an interpreter on a busy machine can take longer than a run is allowed.
 * - Commands arrive on stdin, one JSON line each; replies leave on fd 3, away from anything the
 *   code prints. After each command the program prints the command's random marker to stdout; a
 *   command is done once both the marker and the reply have arrived, so the console output of a
 *   run is complete when its result is.
 * - An interruptible kernel (a session's) is stopped by SIGINT to its group, which the program
 *   turns into a failed run and keeps its state; a kernel that does not stop in time is killed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";

/** How to start a kernel program: the interpreter's command line, and its name in messages. */
export interface KernelProgram {
  /** "Python" or "R", as messages name the interpreter. */
  language: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

/** What every command answers; `execute` adds the outputs it read back. */
export interface KernelReply {
  success: boolean;
  errorMessage?: string;
  outputParameters?: Record<string, unknown>;
}

/** A command's reply, with what the code printed while it ran. */
export interface KernelOutcome<Reply> {
  /** Absent when the run was stopped or the process died: `stopped` then says why. */
  reply?: Reply;
  consoleOutput: string;
  stopped?: string;
}

export interface KernelLimits {
  timeLimitMs: number;
  outputLimitBytes: number;
  signal?: AbortSignal;
}

interface Pending {
  marker: string;
  console: Buffer[];
  bytes: number;
  tail: string;
  markerSeen: boolean;
  reply?: unknown;
  stopped?: string;
  finish(): void;
}

/** The longest reply accepted on fd 3 (a serialised object or a listing), so a reply cannot exhaust memory. */
const MAX_REPLY = 256 * 1024 * 1024;
/** How long an interpreter may take to start and say it is ready; generous, as a loaded machine is slow. */
const START_LIMIT_MS = 60_000;
/** How long an interrupted run has to stop by itself before its process group is killed. */
const INTERRUPT_GRACE_MS = 2000;

export class Kernel {
  readonly #child: ChildProcess;
  readonly #language: string;
  #pending: Pending | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #replyBuffer = "";
  #exitReason: string | undefined;
  #ready = false;
  #onReady: (() => void) | undefined;
  readonly #started: Promise<void>;
  readonly exited: Promise<void>;

  /**
   * Starts `program` in `cwd`. `interruptible`: a stopped run gets SIGINT first, so a session
   * keeps its variables; otherwise (a service's shell) the process group is killed at once.
   */
  constructor(
    program: KernelProgram,
    cwd: string,
    private readonly interruptible: boolean,
  ) {
    const { language } = program;
    this.#language = language;
    this.#child = spawn(program.command, program.args, {
      cwd,
      detached: true,
      stdio: ["pipe", "pipe", "ignore", "pipe"],
      ...(program.env && { env: program.env }),
    });
    this.exited = new Promise((resolve) => {
      const ended = (reason: string) => {
        this.#exitReason ??= reason;
        this.#killGroup();
        const pending = this.#pending;
        if (pending) {
          pending.stopped ??= this.#exitReason;
          pending.finish();
        }
        resolve();
      };
      this.#child.on("exit", (code, signal) =>
        ended(signal ? `${language} was stopped by ${signal}` : `${language} exited with status ${code}`),
      );
      // A spawn failure (no interpreter) may come without an exit event.
      this.#child.on("error", (error) => ended(`${program.command} could not be started: ${error.message}`));
    });
    this.#started = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#exitReason ??= `${language} did not start within ${START_LIMIT_MS / 1000} s`;
        this.#killGroup();
      }, START_LIMIT_MS);
      timer.unref();
      this.#onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      void this.exited.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.#child.stdin!.on("error", () => {});
    this.#child.stdout!.on("data", (chunk: Buffer) => this.#onConsole(chunk));
    this.#child.stdio[3]!.on("data", (chunk: Buffer) => this.#onReply(chunk));
  }

  /** Whether the process has ended (then every command fails with `stopped`). */
  get alive(): boolean {
    return this.#exitReason === undefined;
  }

  /** Runs one command after those already queued. */
  run<Reply>(command: Record<string, unknown>, limits: KernelLimits): Promise<KernelOutcome<Reply>> {
    const next = this.#queue.then(() => this.#started).then(() => this.#runNow<Reply>(command, limits));
    this.#queue = next.catch(() => {});
    return next;
  }

  /** Whether a command is running now. */
  get busy(): boolean {
    return this.#pending !== undefined;
  }

  /** What the running command has printed so far (empty when none runs). */
  get consoleSoFar(): string {
    const pending = this.#pending;
    return pending
      ? Buffer.concat(pending.console).toString("utf8").split(pending.marker)[0]!.slice(0, this.#outputLimit)
      : "";
  }

  /** Stops the running command, if any, as a time limit would. */
  stopCurrent(reason: string): void {
    if (this.#pending) this.#stop(this.#pending, reason);
  }

  /** Kills the process and everything it started. */
  dispose(): Promise<void> {
    this.#exitReason ??= "the process was closed";
    this.#killGroup();
    return this.exited;
  }

  #runNow<Reply>(command: Record<string, unknown>, limits: KernelLimits): Promise<KernelOutcome<Reply>> {
    return new Promise((resolve) => {
      if (!this.alive) return resolve({ consoleOutput: "", stopped: this.#exitReason! });
      const onAbort = () => this.#stop(pending, "the run was cancelled");
      const pending: Pending = {
        marker: `\u001e${randomBytes(12).toString("hex")}\u001e`,
        console: [],
        bytes: 0,
        tail: "",
        markerSeen: false,
        finish: () => {
          clearTimeout(timer);
          limits.signal?.removeEventListener("abort", onAbort);
          if (this.#pending === pending) this.#pending = undefined;
          const text = Buffer.concat(pending.console).toString("utf8");
          const consoleOutput = Buffer.from(text.split(pending.marker)[0]!)
            .subarray(0, limits.outputLimitBytes)
            .toString("utf8");
          resolve(
            pending.stopped !== undefined
              ? { consoleOutput, stopped: pending.stopped }
              : { consoleOutput, reply: pending.reply as Reply },
          );
        },
      };
      this.#pending = pending;
      this.#outputLimit = limits.outputLimitBytes;
      const timer = setTimeout(
        () => this.#stop(pending, `the code ran longer than the ${limits.timeLimitMs} ms limit and was stopped`),
        limits.timeLimitMs,
      );
      if (limits.signal?.aborted) return onAbort();
      limits.signal?.addEventListener("abort", onAbort, { once: true });
      this.#child.stdin!.write(`${JSON.stringify({ ...command, marker: pending.marker })}\n`);
    });
  }

  #outputLimit = 0;

  #onConsole(chunk: Buffer): void {
    const pending = this.#pending;
    if (!pending) return; // output of something still running between commands: not kept
    const seen = pending.tail + chunk.toString("latin1");
    if (pending.bytes < this.#outputLimit + pending.marker.length) {
      pending.console.push(chunk);
      pending.bytes += chunk.length;
    }
    if (seen.includes(pending.marker)) {
      pending.markerSeen = true;
      return this.#settle(pending);
    }
    pending.tail = seen.slice(-pending.marker.length);
    if (pending.bytes > this.#outputLimit) this.#stop(pending, this.#overLimit());
  }

  #overLimit(): string {
    return `the code produced more than ${this.#outputLimit} bytes of console output and was stopped`;
  }

  #onReply(chunk: Buffer): void {
    this.#replyBuffer += chunk.toString("utf8");
    if (this.#replyBuffer.length > MAX_REPLY) {
      this.#exitReason ??= `${this.#language}'s reply was too large`;
      this.#killGroup();
      return;
    }
    const newline = this.#replyBuffer.indexOf("\n");
    if (newline < 0) return;
    const line = this.#replyBuffer.slice(0, newline);
    this.#replyBuffer = this.#replyBuffer.slice(newline + 1);
    if (!this.#ready) {
      this.#ready = true;
      this.#onReady?.();
      return this.#onReply(Buffer.alloc(0));
    }
    const pending = this.#pending;
    if (!pending) return;
    try {
      pending.reply = JSON.parse(line);
    } catch {
      pending.stopped ??= `${this.#language}'s reply could not be read`;
    }
    this.#settle(pending);
  }

  /** A command is done when its reply and its marker have both arrived (or it was stopped). */
  #settle(pending: Pending): void {
    if (pending.reply === undefined || !pending.markerSeen) return;
    // The marker is the last thing a command prints: what came before it is the run's output, and
    // a run past the output limit is reported as stopped, whatever it answered.
    const text = Buffer.concat(pending.console).toString("utf8").split(pending.marker)[0]!;
    if (Buffer.byteLength(text) > this.#outputLimit) pending.stopped ??= this.#overLimit();
    pending.finish();
  }

  #stop(pending: Pending, reason: string): void {
    if (pending.stopped !== undefined) return;
    pending.stopped = reason;
    if (!this.interruptible) {
      this.#exitReason ??= reason;
      this.#killGroup();
      return;
    }
    this.#signalGroup("SIGINT");
    const escalate = setTimeout(() => {
      if (this.#pending !== pending) return;
      this.#exitReason ??= `${reason}; it did not stop when interrupted, so its process was killed`;
      pending.stopped = this.#exitReason;
      this.#killGroup();
    }, INTERRUPT_GRACE_MS);
    escalate.unref();
  }

  #signalGroup(signal: NodeJS.Signals): void {
    try {
      if (this.#child.pid) process.kill(-this.#child.pid, signal);
    } catch {
      // ESRCH: the group is already gone.
    }
  }

  #killGroup(): void {
    this.#signalGroup("SIGKILL");
  }
}
