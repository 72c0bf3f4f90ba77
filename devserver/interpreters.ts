/**
 * The budget of interpreters: the most Python and R processes the dev server runs at once, for
 * pools, sessions and batches together. Nothing a request asks for (a pool of two million shells,
 * a thousand sessions) can start more; a request that would is refused, and the server keeps
 * answering everything else.
 */
import { availableParallelism, totalmem } from "node:os";
import type { Engine } from "./engines.js";
import { HttpError } from "./http-error.js";

/** Memory set aside per interpreter: a warm Python shell with numpy and pandas is about 40-60 MB. */
const BYTES_PER_INTERPRETER = 256 * 1024 * 1024;

/** The default: 4 per CPU, and no more than one per 256 MiB of memory (8 on a 2-core, 24 GiB machine). */
export function defaultInterpreterBudget(): number {
  return Math.max(2, Math.min(4 * availableParallelism(), Math.floor(totalmem() / BYTES_PER_INTERPRETER)));
}

export class InterpreterBudget {
  #live = 0;
  /** Holders of idle interpreters (pools), each able to stop one when another needs the room. */
  readonly #reclaimers = new Set<() => Promise<boolean>>();
  constructor(readonly limit: number) {}

  /** Registers a holder of idle interpreters; returns its removal. */
  onReclaim(reclaim: () => Promise<boolean>): () => void {
    this.#reclaimers.add(reclaim);
    return () => void this.#reclaimers.delete(reclaim);
  }

  /**
   * Before an interpreter starts for a caller that cannot wait (a session, a pool with none of its
   * own): with the budget spent, idle shells of other pools are stopped, oldest pool first, until
   * one is free. Busy ones are never touched.
   */
  async makeRoom(): Promise<void> {
    for (const reclaim of this.#reclaimers) {
      while (this.free <= 0 && (await reclaim()));
      if (this.free > 0) return;
    }
  }

  /** Interpreters running now. */
  get live(): number {
    return this.#live;
  }

  /** How many more may start. */
  get free(): number {
    return this.limit - this.#live;
  }

  /** Counts one interpreter, or refuses with 503 and Retry-After when the budget is spent. */
  take(): () => void {
    if (this.#live >= this.limit) {
      throw new HttpError(
        503,
        `all ${this.limit} interpreters the dev server may run are in use (pools, sessions and batches ` +
          `together): try again shortly, close sessions, or raise the limit (executionLimits.interpreters, ` +
          `--max-interpreters)`,
        "ServiceUnavailableException",
        { "retry-after": "1" },
      );
    }
    this.#live++;
    let released = false;
    return () => {
      if (!released) this.#live--;
      released = true;
    };
  }

  /** `engine`, whose every kernel counts against this budget until its process ends. */
  wrap(engine: Engine): Engine {
    return {
      runtime: engine.runtime,
      save: (kernel, cwd, archive, limits) => engine.save(kernel, cwd, archive, limits),
      load: (kernel, cwd, archive, limits) => engine.load(kernel, cwd, archive, limits),
      start: (cwd, interruptible) => {
        const release = this.take();
        try {
          const kernel = engine.start(cwd, interruptible);
          void kernel.exited.then(release, release);
          return kernel;
        } catch (error) {
          release();
          throw error;
        }
      },
    };
  }
}
