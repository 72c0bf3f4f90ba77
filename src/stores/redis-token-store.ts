/**
 * A token store in Redis, for a fleet: every process and pod signed in as one account shares one
 * token set, and renews it once between them. Locks are `SET lock owner NX PX ttl`, released only by
 * their owner, and every write is fenced (refused unless its writer still holds the lock, and never
 * over a set written under a later lock). Waiters learn of a release by pub/sub, or by polling.
 * Any Redis failure is a `TokenStoreError` within `commandTimeoutMs`, which the strategies treat as
 * a warning: they go on with the tokens they hold until Redis is back.
 *
 * One Redis, a Redis Cluster or a master under Sentinel: every key of a token set carries the same
 * hash tag (`{id}`), so the lock, the fence and the data share a slot and one script can use them
 * all; in a cluster the wake-ups are sharded pub/sub, on the slot's own node.
 */
import { nodeCrypto } from "./node-crypto.js";
import { TokenStoreError } from "../core/errors.js";
import { debug, warnOnce } from "../core/log.js";
import { isLoopback } from "../http/origins.js";
import {
  describeKey,
  sameKey,
  tokenStoreKeyString,
  type StoredValue,
  type TokenStore,
  type TokenStoreKey,
} from "../auth/token-store.js";
import { Sealer, type EncryptionKey } from "./sealing.js";

/**
 * What the store needs of a Redis client: node-redis's `sendCommand` (a client from `redis`'s
 * `createClient(...).connect()`; its own reconnection is kept).
 */
export interface RedisCommandClient {
  /** Sends one command, e.g. `["SET", key, value, "NX", "PX", "30000"]`, and resolves to its reply. */
  sendCommand<T = unknown>(args: readonly string[]): Promise<T>;
}

/** node-redis's cluster client (`createCluster(...).connect()`): commands routed by their first key. */
export interface RedisClusterCommandClient {
  /** Sends one command to the node that serves `firstKey`'s slot. */
  sendCommand<T = unknown>(firstKey: string | undefined, isReadonly: boolean | undefined, args: string[]): Promise<T>;
  /** Sharded pub/sub (Redis 7), on the node that holds the channel's slot. */
  sSubscribe(channel: string, listener: () => void): Promise<unknown>;
  /** Ends what `sSubscribe` started. */
  sUnsubscribe(channel: string, listener?: () => void): Promise<unknown>;
  /** What tells a cluster client apart. */
  readonly masters: readonly unknown[];
}

/** node-redis's Sentinel client (`createSentinel(...).connect()`): commands go to the current master. */
export interface RedisSentinelCommandClient {
  /** Sends one command to the master the sentinels name now. */
  sendCommand<T = unknown>(isReadonly: boolean | undefined, args: string[]): Promise<T>;
  /** Pub/sub on the master. */
  subscribe(channel: string, listener: () => void): Promise<unknown>;
  /** Ends what `subscribe` started. */
  unsubscribe(channel: string, listener?: () => void): Promise<unknown>;
  /** What tells a Sentinel client apart. */
  getMasterNode(): unknown;
}

/** A Redis as the store talks to it: one command with the key it concerns, and pub/sub if offered. */
interface RedisLink {
  send<T>(key: string, args: readonly string[]): Promise<T>;
  /** The command scripts publish a release with: SPUBLISH in a cluster (the slot's node), else PUBLISH. */
  publish: "PUBLISH" | "SPUBLISH";
  /** Wakes the store's waiters (they ignore the message itself). */
  subscriber:
    | {
        subscribe(channel: string, listener: () => void): Promise<unknown>;
        unsubscribe(channel: string, listener?: () => void): Promise<unknown>;
      }
    | undefined;
  /** Where a warning says the tokens are, or undefined when that is loopback or unknown. */
  host: string | undefined;
}

/** The link for a node-redis client, cluster client or Sentinel client; another shape is a typed error. */
function linkOf(options: RedisTokenStoreOptions): RedisLink {
  const client = options.client as Partial<RedisClusterCommandClient & RedisSentinelCommandClient> | undefined;
  if (typeof client?.sendCommand !== "function") {
    throw new TokenStoreError(
      "redisTokenStore needs a connected node-redis client: createClient, createCluster or createSentinel (then " +
        ".connect()).",
    );
  }
  if (Array.isArray(client.masters) && typeof client.sSubscribe === "function") {
    const cluster = options.client as RedisClusterCommandClient;
    const subscriber = options.subscriber ?? {
      subscribe: (channel: string, listener: () => void) => cluster.sSubscribe(channel, listener),
      unsubscribe: (channel: string, listener?: () => void) => cluster.sUnsubscribe(channel, listener),
    };
    const host = (cluster.masters as { host?: string }[])
      .map((m) => m.host)
      .find((h) => h !== undefined && !isLoopback(h));
    return { send: (key, args) => cluster.sendCommand(key, false, [...args]), publish: "SPUBLISH", subscriber, host };
  }
  if (typeof client.getMasterNode === "function") {
    const sentinel = options.client as RedisSentinelCommandClient;
    const subscriber = options.subscriber ?? {
      subscribe: (channel: string, listener: () => void) => sentinel.subscribe(channel, listener),
      unsubscribe: (channel: string, listener?: () => void) => sentinel.unsubscribe(channel, listener),
    };
    const master = sentinel.getMasterNode() as { host?: string } | undefined;
    return {
      send: (_key, args) => sentinel.sendCommand(false, [...args]),
      publish: "PUBLISH",
      subscriber,
      host: master?.host,
    };
  }
  const single = options.client as RedisCommandClient;
  return {
    send: (_key, args) => single.sendCommand(args),
    publish: "PUBLISH",
    subscriber: options.subscriber,
    host: redisHost(single),
  };
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
  /**
   * A connected node-redis client: `createClient`'s, `createCluster`'s or `createSentinel`'s. A
   * cluster's or Sentinel's wakes waiters by its own pub/sub (sharded in a cluster).
   */
  client: RedisCommandClient | RedisClusterCommandClient | RedisSentinelCommandClient;
  /** For `createClient`'s: a connected duplicate for pub/sub, so that waiters wake at once; without it they poll. */
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
// Deletes the lock only if it is still the caller's, and tells the waiters (ARGV[2]: PUBLISH or
// SPUBLISH; the channel shares the keys' hash tag, so a cluster runs it on their node).
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call(ARGV[2], KEYS[2], 'released')
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
  const link = linkOf(options);
  const { subscriber } = link;
  const prefix = options.prefix ?? "mlserver-client:";
  const keySource = options.encryptionKey ?? process.env.MLSERVER_TOKEN_CACHE_KEY;
  const sealer = keySource === undefined || keySource === "" ? undefined : new Sealer(keySource);
  const host = link.host;
  if (!sealer && host !== undefined && !isLoopback(host)) {
    warnOnce(
      `redis-token-store-unsealed:${host}`,
      `redisTokenStore keeps tokens unencrypted in the Redis at ${host}: anyone who can read it can use them, ` +
        `and anyone who can write to it can plant tokens this fleet will send. Set encryptionKey (or ` +
        `MLSERVER_TOKEN_CACHE_KEY).`,
    );
  }
  const refreshTtlMs = (options.refreshTokenSeconds ?? 14 * 24 * 3600) * 1000;
  const lockTtlMs = options.lockTtlMs ?? 30_000;
  const lockTimeoutMs = options.lockTimeoutMs ?? 60_000;
  const pollMs = options.pollMs ?? 250;
  const commandTimeoutMs = options.commandTimeoutMs ?? 2_000;
  /** The lock owner token this store holds per key, during `withLock`. */
  const held = new Map<string, { owner: string; fence: number }>();

  // One hash tag for every key of a set: one slot in a cluster, so the scripts may touch them all.
  const names = (key: TokenStoreKey) => {
    const id = nodeCrypto().createHash("sha256").update(tokenStoreKeyString(key)).digest("hex").slice(0, 40);
    const tag = `${prefix}{${id}}`;
    return { id, entry: `${tag}:tokens`, lock: `${tag}:lock`, fence: `${tag}:fence`, released: `${tag}:released` };
  };

  /** One command about `key`, bounded in time; a failure or a timeout is the store being down. */
  async function command<T>(key: string, args: readonly string[], what: string): Promise<T> {
    return bounded(link.send<T>(key, args), what);
  }

  /** `pending`, or a TokenStoreError once `commandTimeoutMs` has passed or it failed. */
  async function bounded<T>(pending: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        pending,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new TokenStoreError(`Redis did not answer ${what} within ${commandTimeoutMs} ms.`)),
            commandTimeoutMs,
          );
        }),
      ]);
    } catch (error) {
      if (error instanceof TokenStoreError) throw error;
      throw new TokenStoreError(
        `Redis failed ${what} (${(error as Error).name}: ${(error as Error).message.slice(0, 120)}).`,
        error,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A release that failed (Redis failing over), or of a lock whose SET had no answer, is tried
   * again until it succeeds or the lock would have expired anyway: a replica promoted meanwhile
   * holds a copy of the lock, or the client still holds the SET to send to the new master, and
   * the fleet should not wait out the lock's whole TTL. While that SET is pending, a release that
   * found no lock is tried again too.
   */
  function releaseLater(
    n: ReturnType<typeof names>,
    owner: string,
    delay = pollMs,
    pendingSet?: Promise<unknown>,
  ): void {
    const until = Date.now() + lockTtlMs;
    let settled = pendingSet === undefined;
    void pendingSet?.then(
      () => (settled = true),
      () => (settled = true),
    );
    const again = () => setTimeout(attempt, pollMs).unref();
    const attempt = () => {
      if (Date.now() >= until) return;
      // Only a release sent after the SET settled is known to come after it.
      const afterSet = settled;
      command<number>(n.lock, ["EVAL", RELEASE, "2", n.lock, n.released, owner, link.publish], "a release").then(
        (released) => {
          if (released !== 1 && !afterSet) again();
        },
        again,
      );
    };
    setTimeout(attempt, delay).unref();
  }

  /** How long an entry should live: a refresh token's idle lifetime, else its access token's. */
  function ttlOf(value: StoredValue): number {
    const v = value as { refreshToken?: unknown; expiresAt?: unknown; msal?: unknown };
    if (typeof v !== "object" || v === null || typeof v.refreshToken === "string" || typeof v.msal === "string")
      return refreshTtlMs;
    return typeof v.expiresAt === "number" ? Math.max(1_000, v.expiresAt - Date.now() + 60_000) : refreshTtlMs;
  }

  return {
    async read(key) {
      const n = names(key);
      const text = await command<string | null>(n.entry, ["HGET", n.entry, "data"], "a read");
      if (text === null) return undefined;
      let envelope: { v?: unknown; key?: unknown; value?: StoredValue; sealed?: unknown };
      try {
        envelope = JSON.parse(text) as typeof envelope;
      } catch {
        throw new TokenStoreError(
          `The Redis entry for ${describeKey(key)} is not valid JSON; it is ignored until the next renewal ` +
            `replaces it.`,
        );
      }
      if (!sameKey(envelope.key, key))
        throw new TokenStoreError(
          `The Redis entry under the name of ${describeKey(key)} belongs to another server, account or ` +
            `strategy; it is ignored.`,
        );
      if (envelope.sealed === undefined) {
        if (sealer)
          throw new TokenStoreError(
            `The Redis entry for ${describeKey(key)} is not encrypted, but an encryption key is configured; it ` +
              `is ignored.`,
          );
        return envelope.value;
      }
      if (!sealer)
        throw new TokenStoreError(
          `The Redis entry for ${describeKey(key)} is encrypted and no key is configured (MLSERVER_TOKEN_CACHE_KEY).`,
        );
      const plain = await sealer.open(envelope.sealed, tokenStoreKeyString(key));
      if (plain === undefined)
        throw new TokenStoreError(
          `The Redis entry for ${describeKey(key)} cannot be decrypted with the configured key; it is ignored.`,
        );
      return JSON.parse(plain) as StoredValue;
    },

    async write(key, value) {
      const n = names(key);
      const envelope = sealer
        ? { v: 1, key, sealed: await sealer.seal(JSON.stringify(value), tokenStoreKeyString(key)) }
        : { v: 1, key, value };
      const lock = held.get(n.id);
      // Outside a lock (a store used without one), a fresh fence number still orders the writes.
      const fence = lock?.fence ?? (await command<number>(n.fence, ["INCR", n.fence], "a fence increment"));
      const result = await command<number>(
        n.entry,
        [
          "EVAL",
          FENCED_WRITE,
          "2",
          n.entry,
          n.lock,
          JSON.stringify(envelope),
          String(fence),
          String(ttlOf(value)),
          lock?.owner ?? "",
        ],
        "a write",
      );
      if (result === -1)
        throw new TokenStoreError(
          `The Redis lock for ${describeKey(key)} expired before the new tokens were written (a renewal took ` +
            `longer than lockTtlMs); they were not stored.`,
        );
      if (result === 0)
        throw new TokenStoreError(
          `Newer tokens for ${describeKey(key)} were written under a later lock; these were not stored over them.`,
        );
    },

    async delete(key) {
      await command(names(key).entry, ["DEL", names(key).entry], "a delete");
    },

    async withLock(key, task) {
      const n = names(key);
      const owner = nodeCrypto().randomBytes(16).toString("base64url");
      const deadline = Date.now() + lockTimeoutMs;
      let wake: (() => void) | undefined;
      const listener = () => wake?.();
      let subscribed = false;
      try {
        for (;;) {
          let taken: string | null;
          const setting = link.send<string | null>(n.lock, ["SET", n.lock, owner, "NX", "PX", String(lockTtlMs)]);
          try {
            taken = await bounded(setting, "a lock");
          } catch (error) {
            // The SET may have run, or still run once a node answers (a client queues commands
            // while it fails over): release it behind.
            releaseLater(n, owner, 0, setting);
            throw error;
          }
          if (taken === "OK") break;
          if (Date.now() >= deadline)
            throw new TokenStoreError(
              `The Redis lock for ${describeKey(key)} was not released within ${lockTimeoutMs} ms.`,
            );
          if (subscriber && !subscribed) {
            subscribed = true;
            // Bounded like every command: during a failover a subscription may wait for a node.
            await bounded(subscriber.subscribe(n.released, listener), "a subscription").catch(
              () => (subscribed = false),
            );
            continue; // a release may have come between the SET and the subscription
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
            void sleep(Math.min(pollMs, Math.max(1, deadline - Date.now()))).then(() => resolve());
          });
        }
      } finally {
        if (subscribed)
          await bounded(subscriber!.unsubscribe(n.released, listener), "an unsubscription").catch(() => {});
      }
      const fence = await command<number>(n.fence, ["INCR", n.fence], "a fence increment").catch((error: unknown) => {
        releaseLater(n, owner, 0);
        throw error;
      });
      held.set(n.id, { owner, fence });
      debug(`redis lock taken for ${describeKey(key)} (fence ${fence})`);
      try {
        return await task();
      } finally {
        held.delete(n.id);
        await command(n.lock, ["EVAL", RELEASE, "2", n.lock, n.released, owner, link.publish], "a release").catch(() =>
          releaseLater(n, owner),
        );
      }
    },
  };
}
