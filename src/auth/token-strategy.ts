/**
 * The one builder of every strategy that holds tokens. It puts the token machinery together: the
 * store (its key, its lock, sets shared between processes), the cycle (renewal before expiry, one
 * renewal for any number of callers, rotation), the provider (the bearer header, one resend after
 * a 401) and sign-out (revoke on the server, then forget). A strategy gives its protocol's steps
 * only: how to get a set (sign in or renew), and how to revoke one.
 */
import { AuthenticationError, TokenEndpointError } from "../core/errors.js";
import { abortable } from "../core/fetch.js";
import { NO_SPANS, tokenAttributes, type SpanRecorder } from "../http/layers.js";
import { debug, fingerprint } from "../core/log.js";
import { setCredentialHeader } from "../http/credentials.js";
import { bearerTokenOf, ownProvider, type AuthBinding, type AuthContext, type AuthProvider } from "./provider.js";
import { TokenCycler, type TokenCycleOptions } from "./token-cycler.js";
import type { TokenSet } from "./token-set.js";
import { PeerMayHaveRenewed, StoredTokens, type TokenStoreOptions } from "./token-store.js";

/** A strategy's part: its name, its protocol's steps and what it adds to the shared behaviour. */
export interface TokenStrategySpec<T extends TokenSet> {
  /** Names the strategy in spans, logs and the store's key. */
  strategy: string;
  options: TokenCycleOptions & TokenStoreOptions;
  /** Whether a renewal rotates the pair (callers then wait for it, rather than use the old one). */
  rotating?: boolean;
  /** A set to start from (e.g. saved by an earlier run). */
  initial?: T;
  /** Called with each new set, and with undefined after sign-out. */
  onChange?(tokens: T | undefined): void;
  /** The store entry's origin and account, once the strategy knows them. */
  storeKey?(): { origin: string; account: string } | undefined;
  /**
   * What the store does: `"sets"` (the default) shares the sets renewed by any process; `"lock"`
   * only lets one process acquire at a time (for a library that keeps its own cache in the store).
   */
  storeShares?: "sets" | "lock";
  /** Which stored sets are this strategy's (default: any). */
  parse?(stored: TokenSet): T | undefined;
  /**
   * Gets a new set: signs in, or asks a library that keeps its own cache. `refused` is set when
   * the server refused to renew the set held, which a sign-in now replaces.
   */
  acquire(refused?: AuthenticationError): Promise<T>;
  /**
   * Renews `previous`, the newest set known (with its refresh token, say). The server's refusal, an
   * {@link AuthenticationError}, makes the builder sign in with `acquire` instead.
   */
  renew?(previous: T): Promise<T>;
  /** Ends `tokens` on the server, under the store's lock; a failure reaches the caller of sign-out. */
  revoke?(tokens: T): Promise<void>;
  bind?(binding: AuthBinding): void;
  /** Runs before each authorization; throw to refuse (e.g. when signed out). */
  check?(context?: AuthContext): void;
  /** A 401 came back on the current token: the next renewal must bypass caches. */
  onRefused?(): void;
  /** Clean-up on sign-out beyond forgetting the set (e.g. a library's own cache). */
  onSignOut?(): Promise<void> | void;
}

/** The strategy built: its provider, and the parts a strategy with more steps (sign-in) uses. */
export interface TokenStrategy<T extends TokenSet> {
  provider: AuthProvider & TokenSource & { signOut(): Promise<void> };
  cycler: TokenCycler<T>;
  stored: StoredTokens<T>;
  /** Signs in now with `login`, under the store's lock, and stores and uses the set. */
  signIn(login: () => Promise<T>, signal?: AbortSignal): Promise<void>;
}

export function tokenStrategy<T extends TokenSet>(spec: TokenStrategySpec<T>): TokenStrategy<T> {
  const { options } = spec;
  const clock = options.clock ?? Date.now;
  const store = options.store;
  // The spans go to the tracing of the client that binds the strategy (none before).
  let bound: SpanRecorder = NO_SPANS;
  const spans: SpanRecorder = {
    inSpan: (name, attributes, task) => bound.inSpan(name, attributes, task),
    annotate: (attributes) => bound.annotate(attributes),
  };
  const adopt = ({ spans: given }: AuthBinding) => {
    if (bound === NO_SPANS && given) bound = given;
  };
  const stored = new StoredTokens<T>(
    () => {
      const key = store && spec.storeKey?.();
      return key && { store, key: { ...key, strategy: spec.strategy } };
    },
    clock,
    spans,
  );
  const parse = spec.parse ?? ((set: TokenSet) => set as T);
  const sharesSets = spec.storeShares !== "lock";
  const { renew } = spec;
  const obtain = async (previous: T | undefined, { peerChecked }: { peerChecked: boolean }): Promise<T> => {
    if (!previous || !renew) return spec.acquire();
    try {
      return await renew(previous);
    } catch (error) {
      if (!(error instanceof AuthenticationError)) throw error;
      // Not here, under the store's lock: a peer needs it to store the set it renewed.
      if (!peerChecked && stored.failedLately()) throw new PeerMayHaveRenewed(previous);
      debug(`renewal of ${fingerprint(previous.accessToken)} refused (HTTP ${error.status}); signing in again`);
      return spec.acquire(error);
    }
  };
  const cycler = new TokenCycler<T>({
    ...options,
    strategy: spec.strategy,
    rotating: spec.rotating ?? false,
    initial: spec.initial,
    onChange: spec.onChange,
    spans,
    acquire: sharesSets
      ? stored.wrap(obtain, parse)
      : (previous) => stored.locked(() => obtain(previous, { peerChecked: true })),
  });

  async function revoke(held: T | undefined): Promise<void> {
    try {
      // The store's set, if newer than the one held: a new process signs out what it never loaded.
      const found = await stored.load();
      const fromStore = found && parse(found);
      const tokens = fromStore && (!held || fromStore.expiresAt >= held.expiresAt) ? fromStore : held;
      if (tokens) {
        const attributes = { "mlserver_client.strategy": spec.strategy, ...tokenAttributes(tokens.accessToken) };
        await spans.inSpan("mlserver-client revoke", attributes, () => spec.revoke!(tokens));
      }
    } catch (error) {
      throw new TokenEndpointError(
        `Signed out locally, but the refresh token could not be revoked on the server ` +
          `(${(error as Error).message}); it stays valid until it expires.`,
        { cause: error, retryable: false },
      );
    }
  }

  async function signOut(): Promise<void> {
    await cycler.settle();
    const held = cycler.current;
    cycler.set(undefined);
    const forget = async () => {
      await spec.onSignOut?.();
      await stored.forget();
    };
    // Under the store's lock, so that no other process renews the pair while it is revoked.
    if (spec.revoke) await stored.locked(() => revoke(held).finally(forget));
    else await forget();
  }

  const provider = tokenProvider(cycler, {
    reload: sharesSets ? () => stored.reloadInto(cycler, parse) : undefined,
    bind(binding) {
      adopt(binding);
      spec.bind?.(binding);
    },
    check(context) {
      // A provider no client bound (authMiddleware) learns where its spans go from each call.
      if (context) adopt(context);
      spec.check?.(context);
    },
    onRefused: spec.onRefused,
    signOut,
  });

  return {
    provider: provider as TokenStrategy<T>["provider"],
    cycler,
    stored,
    async signIn(login, signal) {
      await cycler.settle();
      const tokens = await abortable(
        stored.locked(async () => {
          const obtainedAt = clock();
          const fresh = await login();
          await stored.save(fresh, obtainedAt);
          return fresh;
        }),
        signal,
      );
      cycler.set(tokens);
    },
  };
}

/** What a token strategy adds to the shared behaviour of {@link tokenProvider}. */
interface TokenProviderHooks {
  bind?(binding: AuthBinding): void;
  /**
   * Runs before each authorization, and without a context before {@link TokenSource.getAccessToken}; throw to refuse
   * (e.g. when signed out).
   */
  check?(context?: AuthContext): void;
  /** A 401 came back on the current token: the next renewal must bypass caches. */
  onRefused?(): void;
  /**
   * A 401 came back on a superseded token: before the resend, look for tokens newer than the
   * current ones (a shared store), since another process may have rotated the current ones too.
   */
  reload?(): Promise<void>;
  signOut?(): Promise<void>;
}

/** A provider that can hand out its current access token, e.g. to pass to another tool. */
export interface TokenSource {
  /**
   * A valid access token, renewed first if it is due; the same cycle (and store) as the calls use.
   *
   * @example
   * ```ts
   * const { accessToken, expiresAt } = await auth.getAccessToken();
   * // A token good for at least 10 more minutes (renewed first if less is left), for a long job:
   * const lasting = await auth.getAccessToken({ minValidityMs: 10 * 60_000 });
   * ```
   */
  getAccessToken(options?: {
    signal?: AbortSignal;
    minValidityMs?: number;
  }): Promise<{ accessToken: string; expiresAt: number }>;
}

/**
 * The common shape of every token strategy: send the cycler's current token as a bearer token; on
 * a 401, report the token refused (which renews only if it is still the current one) and ask for
 * one resend.
 */
function tokenProvider<T extends TokenSet>(
  cycler: TokenCycler<T>,
  hooks: TokenProviderHooks = {},
): AuthProvider & TokenSource {
  // The header for the current token, made (and checked, and remembered as a secret) once per token.
  let headerFor: { token: string; value: string } | undefined;
  return ownProvider({
    async getAccessToken({ signal, minValidityMs } = {}) {
      hooks.check?.();
      let { accessToken, expiresAt } = await cycler.getToken(signal);
      // Less left than asked for: renew now, through the same single renewal (and store lock) a 401 would use.
      if (minValidityMs !== undefined && expiresAt - Date.now() < minValidityMs) {
        cycler.invalidate(accessToken);
        ({ accessToken, expiresAt } = await cycler.getToken(signal));
      }
      return { accessToken, expiresAt };
    },
    ...(hooks.bind && { bind: hooks.bind }),
    ...(hooks.signOut && { signOut: hooks.signOut }),
    async authorize(request, context) {
      hooks.check?.(context);
      const { accessToken } = await cycler.getToken(context.signal);
      if (headerFor?.token === accessToken) return void request.headers.set("authorization", headerFor.value);
      const value = `Bearer ${accessToken}`;
      setCredentialHeader(request.headers, "authorization", value, "The access token");
      headerFor = { token: accessToken, value };
    },
    async onUnauthorized(request, _response, context) {
      const used = bearerTokenOf(request);
      if (!used) return false;
      try {
        hooks.check?.(context);
      } catch {
        return false;
      }
      if (cycler.invalidate(used) === "superseded") {
        debug(`401 on superseded token ${fingerprint(used)}: resending with the current one`);
        await hooks.reload?.();
      } else {
        debug(`401 on current token ${fingerprint(used)}: renewing`);
        hooks.onRefused?.();
      }
      return true;
    },
  });
}
