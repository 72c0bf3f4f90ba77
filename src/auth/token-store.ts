/**
 * Where token sets live between calls, runs and processes. A {@link TokenStore} holds one entry per
 * server + account + strategy, and a lock per entry, so that everything sharing the store (one
 * process, the processes of one machine, a fleet) makes one renewal at a time between them: under
 * ML Server's rotation two renewals with the same refresh token would end the session.
 */
import { TokenStoreError } from "../core/errors.js";
import { debug, fingerprint, warnOnce } from "../core/log.js";
import { NO_SPANS, type SpanRecorder } from "../http/layers.js";
import { rememberSecret } from "../core/redact.js";
import type { TokenSet } from "./token-set.js";

/** What a stored entry belongs to; an entry is only ever used for exactly this key. */
export interface TokenStoreKey {
  /** The server (or token endpoint) the tokens are for, e.g. `https://mlserver.example.com:12800`. */
  origin: string;
  /** The account, e.g. a username or a client id (with its scopes). */
  account: string;
  /** The strategy that made the tokens, e.g. `ml-server-login`. */
  strategy: string;
}

/** A JSON value, as stores keep them. */
export type StoredValue = string | number | boolean | null | StoredValue[] | { [key: string]: StoredValue };

/**
 * Storage for token sets, shared by strategies through their `store` option. Implementations:
 * {@link memoryTokenStore} (the default: one process), `fileTokenStore` (the processes of one
 * machine), or your own (a vault, a database).
 *
 * @example A store of your own (here a Map, as memoryTokenStore is):
 * ```ts
 * const entries = new Map<string, StoredValue>();
 * const store: TokenStore = {
 *   async read(key) { return entries.get(tokenStoreKeyString(key)); },
 *   async write(key, value) { entries.set(tokenStoreKeyString(key), value); },
 *   async delete(key) { entries.delete(tokenStoreKeyString(key)); },
 *   withLock: (key, task) => task(), // only safe when nothing else shares the store
 * };
 * ```
 */
export interface TokenStore {
  /** The entry for `key`, or `undefined` when there is none (or it is unreadable: say so with a warning). */
  read(key: TokenStoreKey): Promise<StoredValue | undefined>;
  /** Replaces the entry atomically: a reader sees the old value or the new one, never a mix. */
  write(key: TokenStoreKey, value: StoredValue): Promise<void>;
  /** Removes the entry; no error when there is none. */
  delete(key: TokenStoreKey): Promise<void>;
  /**
   * Runs `task` while holding the entry's lock, excluding every other holder that shares the
   * store; a crashed holder must not keep it for longer than a stale timeout.
   */
  withLock<T>(key: TokenStoreKey, task: () => Promise<T>): Promise<T>;
}

/** The option every token strategy takes to keep its tokens in a store. */
export interface TokenStoreOptions {
  /**
   * Where tokens are kept, and renewals are coordinated, beyond this provider: `fileTokenStore()`
   * to reuse a sign-in across runs and processes. Default: in this provider's memory only.
   */
  store?: TokenStore;
  /** The account part of the store key, where the strategy cannot tell it (e.g. a credentials callback). */
  storeAccount?: string;
}

/** One string for a key, for maps, file names and Redis keys: unambiguous, as JSON of its parts. */
export function tokenStoreKeyString(key: TokenStoreKey): string {
  return JSON.stringify([key.origin, key.account, key.strategy]);
}

/** A key in words, for messages (no secret is part of a key). */
export function describeKey(key: TokenStoreKey): string {
  return `${key.strategy} ${JSON.stringify(key.account)} at ${key.origin}`;
}

/** Whether a stored key names exactly `key`. */
export function sameKey(stored: unknown, key: TokenStoreKey): boolean {
  const k = stored as Partial<TokenStoreKey> | null;
  return (
    typeof k === "object" &&
    k !== null &&
    k.origin === key.origin &&
    k.account === key.account &&
    k.strategy === key.strategy
  );
}

/** How a token set is kept in a store (version 1). */
interface StoredTokenSet {
  v: 1;
  accessToken: string;
  tokenType: string;
  expiresAt: number;
  /** When the token was asked for: with `expiresAt`, how long it was issued for. */
  obtainedAt: number;
  refreshToken?: string;
  refreshAt?: number;
}

/** A stored token set, validated; anything else is reported once and ignored. */
function decodeTokenSet(
  value: StoredValue | undefined,
  describe: string,
): (TokenSet & { obtainedAt: number }) | undefined {
  if (value === undefined) return undefined;
  const v = value as Partial<StoredTokenSet> | null;
  const valid =
    typeof v === "object" &&
    v !== null &&
    v.v === 1 &&
    typeof v.accessToken === "string" &&
    v.accessToken !== "" &&
    typeof v.tokenType === "string" &&
    Number.isFinite(v.expiresAt) &&
    Number.isFinite(v.obtainedAt) &&
    (v.refreshToken === undefined || (typeof v.refreshToken === "string" && v.refreshToken !== "")) &&
    (v.refreshAt === undefined || Number.isFinite(v.refreshAt));
  if (!valid) {
    warnOnce(
      `token-store-shape:${describe}`,
      `The stored tokens for ${describe} are not in a form this version understands; ignoring them (a new ` +
        `sign-in will replace them).`,
    );
    return undefined;
  }
  rememberSecret(v.accessToken!);
  if (v.refreshToken) rememberSecret(v.refreshToken);
  return {
    accessToken: v.accessToken!,
    tokenType: v.tokenType!,
    expiresAt: v.expiresAt!,
    obtainedAt: v.obtainedAt!,
    ...(v.refreshToken !== undefined && { refreshToken: v.refreshToken }),
    ...(v.refreshAt !== undefined && { refreshAt: v.refreshAt }),
  };
}

function withoutObtainedAt(found: TokenSet & { obtainedAt: number }): TokenSet {
  const { obtainedAt: _obtainedAt, ...tokens } = found;
  return tokens;
}

function encodeTokenSet(tokens: TokenSet, obtainedAt: number): StoredValue {
  const stored: StoredTokenSet = {
    v: 1,
    accessToken: tokens.accessToken,
    tokenType: tokens.tokenType,
    expiresAt: tokens.expiresAt,
    obtainedAt,
    ...(tokens.refreshToken !== undefined && { refreshToken: tokens.refreshToken }),
    ...(tokens.refreshAt !== undefined && { refreshAt: tokens.refreshAt }),
  };
  return stored as unknown as StoredValue;
}

/** A key and its store, once the strategy knows the key (e.g. after binding to a client). */
export interface StoreBinding {
  store: TokenStore;
  key: TokenStoreKey;
}

/**
 * A strategy's token acquisition, coordinated through a store: under the entry's lock, a token set
 * that someone else stored since (another provider, process or pod) is taken instead of renewing;
 * otherwise the newest known set is renewed and the result stored before the lock is released.
 * Failures of the store itself are warnings: the strategy then works on its own, never without
 * credentials and never writing a set over a newer one.
 */
export class StoredTokens<T extends TokenSet> {
  constructor(
    private readonly binding: () => StoreBinding | undefined,
    private readonly clock: () => number = Date.now,
    private readonly spans: SpanRecorder = NO_SPANS,
  ) {}

  /** When the store last failed to answer (-Infinity: not lately). */
  #failedAt = -Infinity;
  /** A set this process could not store (the store was down): written once the store answers. */
  #unsaved: { tokens: TokenSet; obtainedAt: number } | undefined;

  /** When a stored set is still worth taking: at least a quarter of its life, and a second, left. */
  #reusable(stored: TokenSet & { obtainedAt: number }, now: number): boolean {
    const lifetime = Math.max(0, stored.expiresAt - stored.obtainedAt);
    return stored.expiresAt - now > Math.max(1_000, lifetime / 4);
  }

  /**
   * Wraps `acquire(previous)` so that the store is consulted, locked and updated around it. An
   * `acquire` whose refresh token was refused while the store failed lately throws
   * {@link PeerMayHaveRenewed}: outside the lock (a peer needs it to store its set) the store is
   * watched for the set a peer renewed meanwhile; without one, `acquire` runs again, told so.
   */
  wrap(
    acquire: (previous: T | undefined, attempt: { peerChecked: boolean }) => Promise<T>,
    parse: (stored: TokenSet) => T | undefined = (s) => s as T,
  ): (previous: T | undefined) => Promise<T> {
    return async (previous) => {
      const binding = this.binding();
      if (!binding) return acquire(previous, { peerChecked: true });
      const describe = describeKey(binding.key);
      const locked = (peerChecked: boolean) => async (): Promise<T> => {
        const found = await this.#read(binding, describe);
        const stored = found && parse(withoutObtainedAt(found));
        if (stored && found && stored.accessToken !== previous?.accessToken && this.#reusable(found, this.clock())) {
          debug(`using stored token ${fingerprint(stored.accessToken)} for ${describe}`);
          this.spans.annotate({ "mlserver_client.token.source": "store" });
          return stored;
        }
        // Renew the newest set known: the stored one may be newer than ours, or ours than a stale store.
        const base = stored && (!previous || stored.expiresAt >= previous.expiresAt) ? stored : previous;
        const obtainedAt = this.clock();
        const fresh = await acquire(base, { peerChecked });
        await this.#write(binding, fresh, obtainedAt, describe);
        return fresh;
      };
      try {
        return await this.locked(locked(false));
      } catch (error) {
        if (!(error instanceof PeerMayHaveRenewed)) throw error;
        const renewed = await this.#peerRenewal(binding, error.refused as T, parse);
        return renewed ?? (await this.locked(locked(true)));
      }
    };
  }

  /** Whether the store failed to answer lately: a peer may then have renewed without storing it yet. */
  failedLately(): boolean {
    return this.clock() - this.#failedAt <= PEER_WAIT_MS;
  }

  /** The stored set, if there is a valid one (whether or not it is still usable), without locking. */
  async load(): Promise<TokenSet | undefined> {
    const binding = this.binding();
    const found = binding && (await this.#read(binding, describeKey(binding.key)));
    return found && withoutObtainedAt(found);
  }

  #reloading: Promise<void> | undefined;

  /**
   * Offers the stored set to `cycler`, which takes it only if it is newer than its own. Under the
   * entry's lock: a renewal elsewhere rotates the pair on the server before it stores the new one,
   * so the store is read once that renewal has let go. Concurrent reloads share one read.
   */
  reloadInto(
    cycler: { offer(tokens: T): boolean },
    parse: (stored: TokenSet) => T | undefined = (s) => s as T,
  ): Promise<void> {
    this.#reloading ??= this.locked(async () => {
      const found = await this.load();
      const tokens = found && parse(found);
      if (tokens && cycler.offer(tokens)) debug(`took newer stored token ${fingerprint(tokens.accessToken)}`);
    }).finally(() => (this.#reloading = undefined));
    return this.#reloading;
  }

  /** Stores a set obtained outside a renewal (an explicit sign-in). */
  async save(tokens: T, obtainedAt: number): Promise<void> {
    const binding = this.binding();
    if (binding) await this.#write(binding, tokens, obtainedAt, describeKey(binding.key));
  }

  /**
   * After the server refused `refused`'s refresh token: the set a peer renewed while the store was
   * unreachable, if one reaches the store in time. Under rotation, a process that renewed on its
   * own during a failover ended the pair the others hold; they wait for its set (it writes it once
   * the store answers) instead of each signing in again.
   */
  async #peerRenewal(
    binding: StoreBinding,
    refused: T,
    parse: (stored: TokenSet) => T | undefined,
  ): Promise<T | undefined> {
    const describe = describeKey(binding.key);
    debug(`refresh token refused while ${describe}'s store was unreachable: waiting for a peer's set`);
    const deadline = this.clock() + PEER_WAIT_MS;
    let answeredAt: number | undefined;
    while (this.clock() < deadline && (answeredAt === undefined || this.clock() - answeredAt < PEER_GRACE_MS)) {
      const found = await binding.store.read(binding.key).then(
        (value) => ({ value }),
        () => undefined,
      );
      if (found) {
        answeredAt ??= this.clock();
        const decoded = decodeTokenSet(found.value, describe);
        const tokens = decoded && parse(withoutObtainedAt(decoded));
        // Only a set with life left: one about to be renewed may be rotated while our resend is on
        // its way, and the peer stores its successor under the lock soon after.
        if (
          decoded &&
          tokens &&
          tokens.accessToken !== refused.accessToken &&
          tokens.expiresAt > refused.expiresAt &&
          this.#reusable(decoded, this.clock())
        ) {
          debug(`took ${fingerprint(tokens.accessToken)}, renewed by a peer while the store was unreachable`);
          this.spans.annotate({ "mlserver_client.token.source": "store" });
          return tokens;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, PEER_POLL_MS));
    }
    return undefined;
  }

  /** Removes the stored set (after a sign-out). */
  async forget(): Promise<void> {
    const binding = this.binding();
    if (!binding) return;
    await binding.store.delete(binding.key).catch((error: unknown) => {
      warnOnce(
        `token-store-delete:${tokenStoreKeyString(binding.key)}`,
        `The stored tokens for ${describeKey(binding.key)} could not be deleted (${(error as Error).message}).`,
      );
    });
  }

  /**
   * Runs `task` under the entry's lock; without it when there is no store, or (with a warning)
   * when the store cannot lock: a store that is down must not stop the calls.
   */
  async locked<R>(task: () => Promise<R>): Promise<R> {
    const binding = this.binding();
    if (!binding) return task();
    let started = false;
    try {
      return await binding.store.withLock(binding.key, () => {
        started = true;
        return task();
      });
    } catch (error) {
      if (started || !(error instanceof TokenStoreError)) throw error;
      this.#failedAt = this.clock();
      warnOnce(
        `token-store-lock:${describeKey(binding.key)}`,
        `The token store's lock for ${describeKey(binding.key)} could not be taken (${error.message}); going on ` +
          `without it.`,
      );
      return task();
    }
  }

  async #read(binding: StoreBinding, describe: string) {
    try {
      return decodeTokenSet(await binding.store.read(binding.key), describe);
    } catch (error) {
      this.#failedAt = this.clock();
      warnOnce(
        `token-store-read:${describe}`,
        `The stored tokens for ${describe} could not be read (${(error as Error).message}); continuing without them.`,
      );
      return undefined;
    }
  }

  async #write(binding: StoreBinding, tokens: TokenSet, obtainedAt: number, describe: string) {
    try {
      await binding.store.write(binding.key, encodeTokenSet(tokens, obtainedAt));
      this.#unsaved = undefined;
    } catch (error) {
      this.#failedAt = this.clock();
      warnOnce(
        `token-store-write:${describe}`,
        `The new tokens for ${describe} could not be stored (${(error as Error).message}); they are used in ` +
          `this process only until the store answers again.`,
      );
      const first = !this.#unsaved;
      this.#unsaved = { tokens, obtainedAt };
      if (first) this.#saveLater(binding, describe, PEER_POLL_MS);
    }
  }

  /**
   * Writes the set that could not be stored once the store answers, unless a newer one is there by
   * then: peers waiting for it in {@link StoredTokens.wrap}, and newcomers, find the session this process holds.
   */
  #saveLater(binding: StoreBinding, describe: string, delay: number): void {
    const timer = setTimeout(() => {
      const unsaved = this.#unsaved;
      if (!unsaved) return;
      const attempt = binding.store.withLock(binding.key, async () => {
        const stored = decodeTokenSet(await binding.store.read(binding.key), describe);
        if (this.#unsaved !== unsaved) return;
        if (!stored || stored.expiresAt < unsaved.tokens.expiresAt) {
          await binding.store.write(binding.key, encodeTokenSet(unsaved.tokens, unsaved.obtainedAt));
        }
        if (this.#unsaved === unsaved) this.#unsaved = undefined;
        debug(`the store answers again: ${describe}'s tokens stored`);
      });
      attempt.then(
        () => this.#unsaved && this.#saveLater(binding, describe, PEER_POLL_MS),
        () => {
          this.#failedAt = this.clock();
          if (this.#unsaved) this.#saveLater(binding, describe, Math.min(5_000, delay * 2));
        },
      );
    }, delay);
    // A process may exit with its set unsaved: the store then keeps the older set, as before.
    (timer as { unref?: () => void }).unref?.();
  }
}

/**
 * Thrown by a strategy's acquire when the server refused a refresh token while the store failed
 * lately (see {@link StoredTokens.failedLately}): a peer may have renewed it. Never leaves
 * {@link StoredTokens.wrap}.
 */
export class PeerMayHaveRenewed extends Error {
  constructor(readonly refused: TokenSet) {
    super("A peer may have renewed this token set while the store was unreachable.");
  }
}

/** How long a process whose refresh token was refused waits for a peer's set, once the store failed lately. */
const PEER_WAIT_MS = 30_000;
/** Once the store answers, how long a peer has to store the set it renewed meanwhile (or its successor). */
const PEER_GRACE_MS = 3_000;
const PEER_POLL_MS = 250;
