/**
 * Debug logging. Off unless `DEBUG` names `mlserver-client` or a sink is set. Every line is built
 * from safe parts: tokens appear only as fingerprints (see {@link fingerprint}), never in full.
 */
export type DebugSink = (line: string) => void;

const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
let sink: DebugSink | undefined = /(^|,)\s*mlserver-client\b/.test(env?.DEBUG ?? "")
  ? (line) => console.error(`mlserver-client ${line}`)
  : undefined;

/**
 * Sends debug lines to `next` (or turns them off with `undefined`); returns the previous sink.
 *
 * @example
 * ```ts
 * setDebugLog((line) => logger.debug(line));
 * ```
 */
export function setDebugLog(next: DebugSink | undefined): DebugSink | undefined {
  const previous = sink;
  sink = next;
  return previous;
}

export function debug(line: string): void {
  sink?.(line);
}

/**
 * A short, stable, non-reversible tag for a secret, so logs can tell tokens apart without showing
 * them (FNV-1a, 32 bits: collisions are harmless here, and the token cannot be recovered).
 */
export function fingerprint(secret: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < secret.length; i++) {
    hash ^= secret.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return `#${(hash >>> 0).toString(16).padStart(8, "0")}`;
}

const warned = new Set<string>();

/**
 * Reports a problem the library recovers from (a corrupt cache entry, a store that is down) once
 * per `id` and process, as a Node process warning (`process.on("warning")` sees it) or, elsewhere,
 * on the console. Messages are built from safe parts, like every other.
 */
export function warnOnce(id: string, message: string): void {
  if (warned.has(id)) return;
  warned.add(id);
  debug(`warning: ${message}`);
  const emit = (globalThis as { process?: { emitWarning?: (message: string, options: { code: string }) => void } })
    .process?.emitWarning;
  if (emit) emit(message, { code: "MLSERVER_CLIENT" });
  else console.warn(`mlserver-client: ${message}`);
}
