/** The default token store: in memory, shared by the strategies of one process (or browser tab). */
import { tokenStoreKeyString, type StoredValue, type TokenStore } from "../auth/token-store.js";

/**
 * A store in this process's memory, with an in-process lock. Providers sharing one memory store
 * share their tokens and renew once between them.
 *
 * @example
 * ```ts
 * const store = memoryTokenStore();
 * const a = mlServerLogin({ username: "svc", password, store });
 * const b = mlServerLogin({ username: "svc", password, store }); // reuses a's tokens
 * ```
 */
export function memoryTokenStore(): TokenStore {
  const entries = new Map<string, string>();
  return {
    async read(key) {
      const text = entries.get(tokenStoreKeyString(key));
      return text === undefined ? undefined : (JSON.parse(text) as StoredValue);
    },
    async write(key, value) {
      // A copy: a caller changing its object afterwards must not change the stored entry.
      entries.set(tokenStoreKeyString(key), JSON.stringify(value));
    },
    async delete(key) {
      entries.delete(tokenStoreKeyString(key));
    },
    withLock: inProcessLocks(),
  };
}

/**
 * Locks that exclude the holders of one JavaScript realm (a process, a browser tab): a task waits
 * for the one before it on the same key, whatever that one's outcome.
 */
export function inProcessLocks(): TokenStore["withLock"] {
  const locks = new Map<string, Promise<unknown>>();
  return (key, task) => {
    const id = tokenStoreKeyString(key);
    const run = (locks.get(id) ?? Promise.resolve()).catch(() => {}).then(task);
    const tail = run.catch(() => {});
    locks.set(id, tail);
    void tail.then(() => {
      if (locks.get(id) === tail) locks.delete(id);
    });
    return run;
  };
}
