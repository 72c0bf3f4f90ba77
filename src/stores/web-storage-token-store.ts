/**
 * A token store on the Web Storage API, for browser apps that opt in. Tokens stay in memory unless
 * an app chooses this: whatever script runs in the page can read Web Storage, so a cross-site
 * scripting flaw would hand it the refresh token. `sessionStorage` at least ends with the tab and is
 * not shared between tabs; `localStorage` would keep the tokens on disk, readable by any script of
 * the origin, for as long as the refresh token lives, which is why no helper here uses it.
 */
import { tokenStoreKeyString, type StoredValue, type TokenStore } from "../auth/token-store.js";
import { inProcessLocks } from "./memory-token-store.js";
import { InvalidOptionError } from "../core/errors.js";

/** The part of the Web Storage API the store uses (`sessionStorage` fits it). */
export interface WebStorageLike {
  /** The value under `key`, or `null`. */
  getItem(key: string): string | null;
  /** Stores `value` under `key` (may throw when the storage is full). */
  setItem(key: string, value: string): void;
  /** Removes `key`; nothing happens if it is absent. */
  removeItem(key: string): void;
}

/** Options of {@link sessionStorageTokenStore}. */
export interface WebStorageTokenStoreOptions {
  /** Where entries are kept (default: the page's `sessionStorage`). */
  storage?: WebStorageLike;
  /** Prefix of the storage keys (default `mlserver-client:`), to keep apart apps of one origin. */
  prefix?: string;
}

/**
 * Keeps token sets in the tab's `sessionStorage`, so that a reload does not sign the user out. One
 * tab is one JavaScript realm, so an in-memory lock coordinates renewals: `sessionStorage` is never
 * shared between tabs. An entry that cannot be parsed is treated as absent.
 *
 * @example
 * ```ts
 * const auth = mlServerLogin({ username, password, store: sessionStorageTokenStore() });
 * ```
 */
export function sessionStorageTokenStore(options: WebStorageTokenStoreOptions = {}): TokenStore {
  const storage = options.storage ?? (globalThis as { sessionStorage?: WebStorageLike }).sessionStorage;
  if (!storage)
    throw new InvalidOptionError("sessionStorageTokenStore needs sessionStorage (a browser page) or a storage option.");
  const prefix = options.prefix ?? "mlserver-client:";
  const name = (key: Parameters<TokenStore["read"]>[0]) => `${prefix}${tokenStoreKeyString(key)}`;
  return {
    async read(key) {
      const text = storage.getItem(name(key));
      if (text === null) return undefined;
      try {
        return JSON.parse(text) as StoredValue;
      } catch {
        return undefined;
      }
    },
    async write(key, value) {
      storage.setItem(name(key), JSON.stringify(value));
    },
    async delete(key) {
      storage.removeItem(name(key));
    },
    withLock: inProcessLocks(),
  };
}
