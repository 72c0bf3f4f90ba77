/**
 * A work queue over one web service, as DeployR's RBroker gave R users: many inputs consumed with a
 * concurrency limit, higher priorities first, each task cancellable, progress counts, and a promise
 * for when the queue is idle. Every task goes through the same client, so they share one token cycle.
 */
import type { ServiceClient, ServiceResult } from "./services.js";

/** How many tasks are where. */
export interface WorkQueueCounts {
  queued: number;
  running: number;
  done: number;
  failed: number;
  cancelled: number;
}

/** Options of {@link createWorkQueue}. */
export interface WorkQueueOptions {
  /** Tasks running at once (default 4). */
  concurrency?: number;
  /** Called whenever a count changes. */
  onProgress?: (counts: WorkQueueCounts) => void;
}

/** One submitted task. */
export interface QueuedTask<Outputs> {
  /** Settles with the run's result, or rejects (a failed run, or an `AbortError` once cancelled). */
  readonly result: Promise<ServiceResult<Outputs>>;
  /** Takes the task out of the queue, or stops it if it runs. */
  cancel(): void;
}

/** A queue of calls to one service. */
export interface WorkQueue<Inputs, Outputs> {
  /** Queues one call; a higher `priority` runs sooner (default 0; ties run in submission order). */
  submit(inputs: Inputs, options?: { priority?: number }): QueuedTask<Outputs>;
  /** The counts now. */
  readonly counts: Readonly<WorkQueueCounts>;
  /** Resolves once nothing is queued or running. */
  idle(): Promise<void>;
  /** Cancels every queued task (running ones finish). */
  clear(): void;
}

interface Entry<Inputs, Outputs> {
  inputs: Inputs;
  priority: number;
  controller: AbortController;
  resolve(result: ServiceResult<Outputs>): void;
  reject(error: unknown): void;
}

const abortError = () => new DOMException("The task was cancelled.", "AbortError");

/**
 * A work queue over `service`.
 *
 * @example
 * ```ts
 * const queue = createWorkQueue(scorer, { concurrency: 8, onProgress: (c) => console.log(c) });
 * const urgent = queue.submit({ x: 1 }, { priority: 10 });
 * for (const row of rows) queue.submit(row).result.catch(() => {});
 * console.log((await urgent.result).outputs);
 * await queue.idle();
 * ```
 */
export function createWorkQueue<Inputs, Outputs>(
  service: ServiceClient<Inputs, Outputs>,
  options: WorkQueueOptions = {},
): WorkQueue<Inputs, Outputs> {
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const waiting: Entry<Inputs, Outputs>[] = [];
  const counts: WorkQueueCounts = { queued: 0, running: 0, done: 0, failed: 0, cancelled: 0 };
  let idleWaiters: (() => void)[] = [];

  const changed = () => {
    options.onProgress?.({ ...counts });
    if (counts.queued === 0 && counts.running === 0) {
      for (const wake of idleWaiters) wake();
      idleWaiters = [];
    }
  };

  const pump = () => {
    while (counts.running < concurrency && waiting.length > 0) {
      const entry = waiting.shift()!;
      counts.queued--;
      counts.running++;
      changed();
      service
        .consume(entry.inputs, { signal: entry.controller.signal })
        .then(
          (result) => {
            counts.running--;
            counts.done++;
            entry.resolve(result);
          },
          (error: unknown) => {
            counts.running--;
            if (entry.controller.signal.aborted) counts.cancelled++;
            else counts.failed++;
            entry.reject(entry.controller.signal.aborted ? abortError() : error);
          },
        )
        .finally(() => {
          changed();
          pump();
        });
    }
  };

  const dequeue = (entry: Entry<Inputs, Outputs>) => {
    const index = waiting.indexOf(entry);
    if (index < 0) return false;
    waiting.splice(index, 1);
    counts.queued--;
    counts.cancelled++;
    entry.reject(abortError());
    changed();
    return true;
  };

  return {
    submit(inputs, { priority = 0 } = {}) {
      let entry!: Entry<Inputs, Outputs>;
      const result = new Promise<ServiceResult<Outputs>>((resolve, reject) => {
        entry = { inputs, priority, controller: new AbortController(), resolve, reject };
      });
      // Higher priority first; equal priorities in the order they came.
      const at = waiting.findIndex((other) => other.priority < priority);
      waiting.splice(at < 0 ? waiting.length : at, 0, entry);
      counts.queued++;
      changed();
      pump();
      return {
        result,
        cancel() {
          if (!dequeue(entry)) entry.controller.abort();
        },
      };
    },
    get counts() {
      return { ...counts };
    },
    idle() {
      if (counts.queued === 0 && counts.running === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    clear() {
      for (const entry of [...waiting]) dequeue(entry);
    },
  };
}
