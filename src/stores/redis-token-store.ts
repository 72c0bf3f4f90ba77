/**
 * A token store in Redis, for a fleet: every process and pod signed in as one account shares one
 * token set, and renews it once between them. Locks are `SET lock owner NX PX ttl`, released only by
 * their owner, and every write is fenced (refused unless its writer still holds the lock, and never
 * over a set written under a later lock). Waiters learn of a release by pub/sub, or by polling.
 * Any Redis failure is a `TokenStoreError` within `commandTimeoutMs`, which the strategies treat as
 * a warning: they go on with the tokens they hold until Redis is back.
 */
import { createHash, randomBytes } from "node:crypto";
import { TokenStoreError } from "../core/errors.js";
import { debug, warnOnce } from "../core/log.js";
import { isLoopback } from "../http/origins.js";
import { describeKey, sameKey, tokenStoreKeyString, type StoredValue, type TokenStore, type TokenStoreKey } from "../auth/token-store.js";
import { Sealer, type EncryptionKey } from "./sealing.js";

/**
 * What the store needs of a Redis client: node-redis's `sendCommand` (a client from `redis`'s
 * `createClient(...).connect()`; its own reconnection is kept).
 */
export interface RedisCommandClient {
  /** Sends one command, e.g. `["SET", key, value, "NX", "PX", "30000"]`, and resolves to its reply. */
  sendCommand<T = unknown>(args: readonly string[]): Promise<T>;
}

/** A second connection in subscriber mode (node-redis: `client.duplicate()`, connected). */
export interface RedisSubscriberClient {
  /** Calls `listener` with each message published on `channel`. */
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<unknown>;
  /** Stops calling `listener` for `channel`. */
  unsubscribe(channel: string, listener?: (message: string, channel: string) => void): Promise<unknown>;
}

/** Options of {@link redisTokenStore}; all but `client` have defaults. */
export interface RedisTokenStoreOptions {
  /** A connected node-redis client. */
  client: RedisCommandClient;
  /** A connected duplicate for pub/sub, so that waiters wake at once; without it they poll. */
  subscriber?: RedisSubscriberClient;
  /** Prefix of every key (default `mlserver-client:`). */
  prefix?: string;
  /**
   * Encrypt entries with AES-256-GCM (default: `$MLSERVER_TOKEN_CACHE_KEY` when set). Without a
   * key, anyone who can read that Redis can read the fleet's tokens, and anyone who can write to it
   * can plant tokens the fleet will send: set one unless the Redis is yours alone. A store on a
   * Redis that is not on loopback warns once when it has no key.
   */
  encryptionKey?: EncryptionKey;
  /**
   * How long an entry with a refresh token lives unused (default 14 days, ML Server's refresh-token
   * lifetime); an entry without one lives as long as its access token.
   */
  refreshTokenSeconds?: number;
  /** A lock's lifetime: a crashed holder's lock expires after it (default 30 s). */
  lockTtlMs?: number;
  /** Give up waiting for a lock after this long (default 60 s). */
  lockTimeoutMs?: number;
  /** While waiting, poll this often too, in case a release was missed (default 250 ms). */
  pollMs?: number;
  /** Each Redis command must answer within this (default 2 s), or the store counts as down. */
  commandTimeoutMs?: number;
}

// Writes only if the writer's lock is still its own (or it holds none) and no later lock wrote.
const FENCED_WRITE = `
if ARGV[4] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[4] then return -1 end
local fence = tonumber(redis.call('HGET', KEYS[1], 'fence') or '0')
if tonumber(ARGV[2]) < fence then return 0 end
redis.call('HSET', KEYS[1], 'data', ARGV[1], 'fence', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;
// Deletes the lock only if it is still the caller's, and tells the waiters.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', KEYS[2], 'released')
  return 1
end
return 0`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The host a node-redis client talks to, from its options (a Unix socket counts as loopback); undefined if unknown. */
function redisHost(client: RedisCommandClient): string | undefined {
  const options = (client as { options?: { url?: string; socket?: { host?: string; path?: string } } }).options;
  if (options?.socket?.path) return "localhost";
  if (options?.socket?.host) return options.socket.host;
  if (!options?.url) return undefined;
  try {
    return new URL(options.url).hostname;
  } catch {
    return undefined;
  }
}

/**
 * A {@link TokenStore} in Redis: one token set per server + account + strategy for a whole fleet,
 * renewed once between all its processes.
 *
 * @example
 * ```ts
 * import { createClient } from "redis";
 * const client = await createClient({ url: process.env.REDIS_URL }).connect();
 * const subscriber = await client.duplicate().connect();
 * const auth = mlServerLogin({ username: "svc", credentials, store: redisTokenStore({ client, subscriber }) });
 * ```
 */
export function redisTokenStore(options: RedisTokenStoreOptions): TokenStore {
  const { client, subscriber } = options;
  if (typeof client?.sendCommand !== "function") throw new TokenStoreError("redisTokenStore needs a connected node-redis client (createClient(...).connect()).");
  const prefix = options.prefix ?? "mlserver-client:";
  const keySource = options.encryptionKey ?? process.env.MLSERVER_TOKEN_CACHE_KEY;
  const sealer = keySource === undefined || keySource === "" ? undefined : new Sealer(keySource);
  const host = redisHost(client);
  if (!sealer && host !== undefined && !isLoopback(host)) {
    warnOnce(
      `redis-token-store-unsealed:${host}`,
      `redisTokenStore keeps tokens unencrypted in the Redis at ${host}: anyone who can read it can use them, and anyone who can write to it can plant tokens this fleet will send. Set encryptionKey (or MLSERVER_TOKEN_CACHE_KEY).`,
    );
  }
  const refreshTtlMs = (options.refreshTokenSeconds ?? 14 * 24 * 3600) * 1000;
  const lockTtlMs = options.lockTtlMs ?? 30_000;
  const lockTimeoutMs = options.lockTimeoutMs ?? 60_000;
  const pollMs = options.pollMs ?? 250;
  const commandTimeoutMs = options.commandTimeoutMs ?? 2_000;
  /** The lock owner token this store holds per key, during `withLock`. */
  const held = new Map<string, { owner: string; fence: number }>();

  const names = (key: TokenStoreKey) => {
    const id = createHash("sha256").update(tokenStoreKeyString(key)).digest("hex").slice(0, 40);
    return { id, entry: `${prefix}tokens:${id}`, lock: `${prefix}lock:${id}`, fence: `${prefix}fence:${id}`, released: `${prefix}released:${id}` };
  };

  /** One command, bounded in time; a failure or a timeout is the store being down. */
  async function command<T>(args: readonly string[], what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        client.sendCommand<T>(args),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new TokenStoreError(`Redis did not answer ${what} within ${commandTimeoutMs} ms.`)), commandTimeoutMs);
        }),
      ]);
    } catch (error) {
      if (error instanceof TokenStoreError) throw error;
      throw new TokenStoreError(`Redis failed ${what} (${(error as Error).name}: ${(error as Error).message.slice(0, 120)}).`, error);
    } finally {
      clearTimeout(timer);
    }
  }

  /** How long an entry should live: a refresh token's idle lifetime, else its access token's. */
  function ttlOf(value: StoredValue): number {
    const v = value as { refreshToken?: unknown; expiresAt?: unknown; msal?: unknown };
    if (typeof v !== "object" || v === null || typeof v.refreshToken === "string" || typeof v.msal === "string") return refreshTtlMs;
    return typeof v.expiresAt === "number" ? Math.max(1_000, v.expiresAt - Date.now() + 60_000) : refreshTtlMs;
  }

  return {
    async read(key) {
      const n = names(key);
      const text = await command<string | null>(["HGET", n.entry, "data"], "a read");
      if (text === null) return undefined;
      let envelope: { v?: unknown; key?: unknown; value?: StoredValue; sealed?: unknown };
      try {
        envelope = JSON.parse(text) as typeof envelope;
      } catch {
        throw new TokenStoreError(`The Redis entry for ${describeKey(key)} is not valid JSON; it is ignored until the next renewal replaces it.`);
      }
      if (!sameKey(envelope.key, key)) throw new TokenStoreError(`The Redis entry under the name of ${describeKey(key)} belongs to another server, account or strategy; it is ignored.`);
      if (envelope.sealed === undefined) {
        if (sealer) throw new TokenStoreError(`The Redis entry for ${describeKey(key)} is not encrypted, but an encryption key is configured; it is ignored.`);
        return envelope.value;
      }
      if (!sealer) throw new TokenStoreError(`The Redis entry for ${describeKey(key)} is encrypted and no key is configured (MLSERVER_TOKEN_CACHE_KEY).`);
      const plain = await sealer.open(envelope.sealed, tokenStoreKeyString(key));
      if (plain === undefined) throw new TokenStoreError(`The Redis entry for ${describeKey(key)} cannot be decrypted with the configured key; it is ignored.`);
      return JSON.parse(plain) as StoredValue;
    },

    async write(key, value) {
      const n = names(key);
      const envelope = sealer ? { v: 1, key, sealed: await sealer.seal(JSON.stringify(value), tokenStoreKeyString(key)) } : { v: 1, key, value };
      const lock = held.get(n.id);
      // Outside a lock (a store used without one), a fresh fence number still orders the writes.
      const fence = lock?.fence ?? (await command<number>(["INCR", n.fence], "a fence increment"));
      const result = await command<number>(["EVAL", FENCED_WRITE, "2", n.entry, n.lock, JSON.stringify(envelope), String(fence), String(ttlOf(value)), lock?.owner ?? ""], "a write");
      if (result === -1) throw new TokenStoreError(`The Redis lock for ${describeKey(key)} expired before the new tokens were written (a renewal took longer than lockTtlMs); they were not stored.`);
      if (result === 0) throw new TokenStoreError(`Newer tokens for ${describeKey(key)} were written under a later lock; these were not stored over them.`);
    },

    async delete(key) {
      await command(["DEL", names(key).entry], "a delete");
    },

    async withLock(key, task) {
      const n = names(key);
      const owner = randomBytes(16).toString("base64url");
      const deadline = Date.now() + lockTimeoutMs;
      let wake: (() => void) | undefined;
      const listener = () => wake?.();
      let subscribed = false;
      try {
        for (;;) {
          let taken: string | null;
          try {
            taken = await command<string | null>(["SET", n.lock, owner, "NX", "PX", String(lockTtlMs)], "a lock");
          } catch (error) {
            // The SET may still run once Redis answers again: queue a release of it behind.
            void command(["EVAL", RELEASE, "2", n.lock, n.released, owner], "a release").catch(() => {});
            throw error;
          }
          if (taken === "OK") break;
          if (Date.now() >= deadline) throw new TokenStoreError(`The Redis lock for ${describeKey(key)} was not released within ${lockTimeoutMs} ms.`);
          if (subscriber && !subscribed) {
            subscribed = true;
            await subscriber.subscribe(n.released, listener).catch(() => (subscribed = false));
            continue; // a release may have come between the SET and the subscription
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
            void sleep(Math.min(pollMs, Math.max(1, deadline - Date.now()))).then(() => resolve());
          });
        }
      } finally {
        if (subscribed) await subscriber!.unsubscribe(n.released, listener).catch(() => {});
      }
      const fence = await command<number>(["INCR", n.fence], "a fence increment").catch(async (error: unknown) => {
        await command(["EVAL", RELEASE, "2", n.lock, n.released, owner], "a release").catch(() => {});
        throw error;
      });
      held.set(n.id, { owner, fence });
      debug(`redis lock taken for ${describeKey(key)} (fence ${fence})`);
      try {
        return await task();
      } finally {
        held.delete(n.id);
        await command(["EVAL", RELEASE, "2", n.lock, n.released, owner], "a release").catch(() => {});
      }
    },
  };
}
