/**
 * A token store in files, for the processes of one machine: a CLI run that reuses the sign-in of
 * the last, cron jobs that start together. Entries are private to the user (0600 files in a 0700
 * directory, created so from the start), replaced atomically (a temporary file renamed over the
 * entry), and locked across processes with proper-lockfile, whose locks go stale when a holder dies.
 */
import { nodeCrypto } from "./node-crypto.js";
import type { Stats } from "node:fs";
import { chmod, lstat, mkdir, readFile, unlink } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { TokenStoreError } from "../core/errors.js";
import { warnOnce } from "../core/log.js";
import {
  describeKey,
  sameKey,
  tokenStoreKeyString,
  type StoredValue,
  type TokenStore,
  type TokenStoreKey,
} from "../auth/token-store.js";
import { writePrivateFile } from "./private-file.js";
import { Sealer, type EncryptionKey } from "./sealing.js";

/** Options of {@link fileTokenStore}; every one has a default. */
export interface FileTokenStoreOptions {
  /**
   * The directory for entries. Default: `$MLSERVER_CACHE_DIR`, else `mlserver-client` under the
   * user's cache directory: `$XDG_CACHE_HOME` or `~/.cache` on Linux, `~/Library/Caches` on macOS,
   * `%LOCALAPPDATA%` on Windows.
   */
  directory?: string;
  /**
   * Encrypt entries with AES-256-GCM under this key (see the README for what that protects
   * against). Default: `$MLSERVER_TOKEN_CACHE_KEY` when set, else no encryption.
   */
  encryptionKey?: EncryptionKey;
  /** A lock whose holder stopped updating it for this long is taken over (default 10 s, at least 2 s). */
  staleLockMs?: number;
  /** Give up waiting for a live holder's lock after this long (default 2 min). */
  lockTimeoutMs?: number;
}

/** The user's cache directory for this package, by platform convention. */
export function defaultCacheDirectory(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string {
  if (env.MLSERVER_CACHE_DIR) return env.MLSERVER_CACHE_DIR;
  if (platform === "win32")
    return join(env.LOCALAPPDATA ?? join(homedir(), "AppData", "Local"), "mlserver-client", "Cache");
  if (platform === "darwin") return join(homedir(), "Library", "Caches", "mlserver-client");
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "mlserver-client");
}

type Lockfile = typeof import("proper-lockfile");
let lockfile: Promise<Lockfile> | undefined;
const loadLockfile = () =>
  (lockfile ??= import("proper-lockfile").then((m) => (m as unknown as { default: Lockfile }).default ?? m));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const errno = (error: unknown) => (error as NodeJS.ErrnoException).code;

/**
 * A {@link TokenStore} in files under the user's cache directory: sign in once, and later runs and
 * other processes reuse and renew the same tokens, one renewal at a time.
 *
 * @example
 * ```ts
 * const auth = mlServerLogin({ username: "admin", credentials: askForPassword, store: fileTokenStore() });
 * ```
 */
export function fileTokenStore(options: FileTokenStoreOptions = {}): TokenStore {
  const directory = options.directory ?? defaultCacheDirectory();
  const keySource = options.encryptionKey ?? process.env.MLSERVER_TOKEN_CACHE_KEY;
  const sealer = keySource === undefined || keySource === "" ? undefined : new Sealer(keySource);
  const staleLockMs = Math.max(2_000, options.staleLockMs ?? 10_000);
  const lockTimeoutMs = options.lockTimeoutMs ?? 120_000;
  let ready: Promise<void> | undefined;

  /** The directory, made private if it is not; refused if another user owns it. */
  const ensureDirectory = () =>
    (ready ??= (async () => {
      await mkdir(directory, { recursive: true, mode: 0o700 });
      const info = await lstat(directory);
      if (!info.isDirectory())
        throw new TokenStoreError(
          `The token cache ${directory} is not a directory; remove it or choose another with MLSERVER_CACHE_DIR.`,
        );
      checkOwner(info, directory);
      if (process.platform !== "win32" && (info.mode & 0o077) !== 0) await chmod(directory, 0o700);
    })().catch((error: unknown) => {
      ready = undefined;
      throw error instanceof TokenStoreError
        ? error
        : new TokenStoreError(
            `The token cache directory ${directory} could not be prepared ` +
              `(${errno(error) ?? (error as Error).message}).`,
            error,
          );
    }));

  const fileOf = (key: TokenStoreKey) =>
    join(
      directory,
      `${nodeCrypto().createHash("sha256").update(tokenStoreKeyString(key)).digest("hex").slice(0, 40)}.json`,
    );
  const ignore = (file: string, key: TokenStoreKey, why: string): undefined => {
    warnOnce(
      `file-token-store:${file}:${why}`,
      `Ignoring the cached tokens for ${describeKey(key)} in ${file}: ${why}. A new sign-in will replace them.`,
    );
    return undefined;
  };

  return {
    async read(key) {
      await ensureDirectory();
      const file = fileOf(key);
      let text: string;
      try {
        // lstat: a symbolic link could point the cache at any file.
        const info = await lstat(file);
        if (!info.isFile())
          return ignore(file, key, "it is not a regular file (a symbolic link or something else put there)");
        if (process.platform !== "win32" && (info.mode & 0o077) !== 0)
          return ignore(file, key, "the file is readable or writable by other users");
        checkOwner(info, file);
        if (info.size > MAX_ENTRY_BYTES)
          return ignore(file, key, `it is ${info.size} bytes, more than a token set can be (${MAX_ENTRY_BYTES})`);
        text = await readFile(file, "utf8");
      } catch (error) {
        if (errno(error) === "ENOENT") return undefined;
        if (error instanceof TokenStoreError) throw error;
        return ignore(file, key, `it cannot be read (${errno(error) ?? "error"})`);
      }
      let entry: { v?: unknown; key?: unknown; value?: StoredValue; sealed?: unknown };
      try {
        entry = JSON.parse(text) as typeof entry;
      } catch {
        return ignore(file, key, "it is not valid JSON (truncated or corrupt)");
      }
      if (typeof entry !== "object" || entry === null || entry.v !== 1)
        return ignore(file, key, "it is not in a known format");
      if (!sameKey(entry.key, key)) return ignore(file, key, "it belongs to another server, account or strategy");
      if (entry.sealed === undefined) {
        if (sealer) return ignore(file, key, "it is not encrypted, but an encryption key is configured");
        return entry.value;
      }
      if (!sealer) return ignore(file, key, "it is encrypted and no key is configured (MLSERVER_TOKEN_CACHE_KEY)");
      const plain = await sealer.open(entry.sealed, tokenStoreKeyString(key));
      if (plain === undefined) return ignore(file, key, "it cannot be decrypted with the configured key");
      try {
        return JSON.parse(plain) as StoredValue;
      } catch {
        return ignore(file, key, "its decrypted content is not valid JSON");
      }
    },

    async write(key, value) {
      await ensureDirectory();
      const file = fileOf(key);
      const body = sealer
        ? { v: 1, key, sealed: await sealer.seal(JSON.stringify(value), tokenStoreKeyString(key)) }
        : { v: 1, key, value };
      try {
        await writePrivateFile(file, JSON.stringify(body));
      } catch (error) {
        throw new TokenStoreError(
          `The token cache entry ${file} could not be written (${errno(error) ?? (error as Error).message}).`,
          error,
        );
      }
    },

    async delete(key) {
      await unlink(fileOf(key)).catch((error: unknown) => {
        if (errno(error) !== "ENOENT")
          throw new TokenStoreError(`The token cache entry could not be deleted (${errno(error)}).`, error);
      });
    },

    async withLock(key, task) {
      await ensureDirectory();
      const { lock } = await loadLockfile();
      const file = fileOf(key);
      await checkLockPath(`${file}.lock`, describeKey(key));
      const deadline = Date.now() + lockTimeoutMs;
      let release: () => Promise<void>;
      for (let wait = 10; ; wait = Math.min(250, wait * 1.5)) {
        try {
          release = await lock(file, {
            realpath: false,
            stale: staleLockMs,
            update: Math.max(1_000, staleLockMs / 4),
            retries: 0,
            // A lock not refreshed in time (a stalled event loop) may be taken by another process;
            // the default is to throw from a timer, which would crash the process.
            onCompromised: () =>
              warnOnce(
                `file-token-store-compromised:${file}`,
                `The token cache lock for ${describeKey(key)} was held too long without being refreshed and may ` +
                  `have been taken over.`,
              ),
          });
          break;
        } catch (error) {
          if (errno(error) !== "ELOCKED")
            throw new TokenStoreError(
              `The token cache lock for ${describeKey(key)} could not be taken ` +
                `(${errno(error) ?? (error as Error).message}).`,
              error,
            );
          if (Date.now() >= deadline)
            throw new TokenStoreError(
              `The token cache lock for ${describeKey(key)} is held by another live process and was not ` +
                `released within ${lockTimeoutMs} ms.`,
            );
          await sleep(wait * (0.5 + Math.random()));
        }
      }
      try {
        return await task();
      } finally {
        await release().catch(() => {});
      }
    },
  };
}

/** The largest entry read: a token set is a few kilobytes; anything far larger was not written here. */
const MAX_ENTRY_BYTES = 1024 * 1024;

/**
 * A lock is a directory this process's kind made (proper-lockfile's). Anything else at its path (a
 * symbolic link, dangling or not, a file, another user's directory) would be waited on until the
 * lock timeout: refuse it at once, saying what to remove.
 */
async function checkLockPath(path: string, what: string): Promise<void> {
  const info = await lstat(path).catch((error: unknown) => {
    if (errno(error) === "ENOENT") return undefined;
    throw new TokenStoreError(
      `The token cache lock for ${what} at ${path} cannot be checked (${errno(error)}).`,
      error,
    );
  });
  if (!info) return;
  if (!info.isDirectory()) {
    throw new TokenStoreError(
      `The token cache lock for ${what} at ${path} is ${info.isSymbolicLink() ? "a symbolic link" : "a file"}, ` +
        `not a lock this library made: remove it.`,
    );
  }
  checkOwner(info, path);
}

/** Entries owned by another user could have been planted or be read by them: refuse them. */
function checkOwner(info: Stats, path: string): void {
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid) {
    throw new TokenStoreError(
      `${path} belongs to another user (uid ${info.uid}); the token cache must be your own. Remove it or choose ` +
        `another directory with MLSERVER_CACHE_DIR.`,
    );
  }
}
