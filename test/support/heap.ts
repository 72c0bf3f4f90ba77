/**
 * Heap and buffer bytes after collections with turns of the event loop between them: memory held
 * by native objects (a Blob's bytes, a stream's) is freed by finalizers that run after a
 * collection, so a single `gc()` can report memory that is already garbage. Needs `--expose-gc`.
 */
export async function settledHeap(): Promise<number> {
  for (let i = 0; i < 5; i++) {
    globalThis.gc!();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}
