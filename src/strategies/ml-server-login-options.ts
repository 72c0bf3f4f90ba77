/**
 * What `mlServerLogin` takes and gives, the check of its options (done before anything is sent:
 * a missing password is a clear `ERR_INVALID_OPTION`, not a refusal by the server), and where each
 * sign-in's credentials come from.
 */
import type { AuthProvider } from "../auth/provider.js";
import type { TokenSource } from "../auth/token-strategy.js";
import type { TokenStoreOptions } from "../auth/token-store.js";
import type { TokenCycleOptions } from "../auth/token-cycler.js";
import type { TokenSet } from "../auth/token-set.js";
import type { FetchLike, MaybePromise } from "../core/fetch.js";
import { InvalidOptionError, TokenRefreshError, type AuthenticationError } from "../core/errors.js";
import { requireText } from "../core/required.js";

/** A username and password for a local (e.g. `admin`) or LDAP / Active Directory account. */
export interface MlServerCredentials {
  username: string;
  password: string;
}

/** The complete token set of an ML Server sign-in, safe to persist (it is a secret: store it as one). */
export interface MlServerTokens extends TokenSet {
  refreshToken: string;
}

/**
 * Options of {@link mlServerLogin}. Give a username and password, a `credentials` callback, saved
 * `tokens`, or a `store` that holds them (with `username` or `storeAccount` naming the account).
 */
export interface MlServerLoginOptions extends TokenCycleOptions, TokenStoreOptions {
  /** The account name; with `password`. */
  username?: string;
  /** The account's password; with `username`. Prefer `credentials` to keep it out of memory. */
  password?: string;
  /**
   * Supplies the credentials when a sign-in is needed (first call, or after the refresh token
   * lapsed), e.g. from a vault, so the password need not stay in memory.
   */
  credentials?: () => MaybePromise<MlServerCredentials>;
  /** Start from tokens saved by an earlier run (see `onTokens`). */
  tokens?: MlServerTokens;
  /**
   * Called with the complete new token set after every sign-in and renewal, and with `null` after
   * sign-out, so the caller can persist (or delete) it.
   */
  onTokens?: (tokens: MlServerTokens | null) => void;
  /**
   * The server's base URL. Defaults to the base URL of the client the provider is used with; a
   * provider is then bound to that server and refuses to serve another.
   */
  baseUrl?: string;
  /**
   * How revoke is sent: `query` (`DELETE /login/refreshToken?refreshToken=…`, the default) or `path`
   * (`/login/refreshToken/{token}`, some 2017-era servers).
   */
  revokeStyle?: "query" | "path";
  /** The fetch for token calls; defaults to the client's. */
  fetch?: FetchLike;
  /** Time limit per token call (default 30 s). */
  timeoutMs?: number;
  /** Allow plain HTTP to a host that is not loopback (default: the client's setting). */
  allowInsecureHttp?: boolean;
}

/** An {@link AuthProvider} for ML Server's own accounts, with explicit sign-in and sign-out. */
export interface MlServerLoginProvider extends AuthProvider, TokenSource {
  /** Signs in now (the first call would do it anyway); after `signOut`, this is how to start again. */
  signIn(options?: { signal?: AbortSignal }): Promise<void>;
  /** Revokes the refresh token on the server, forgets the tokens, and refuses calls until `signIn`. */
  signOut(): Promise<void>;
}

/** The options, checked: whose tokens the store keeps, and the credentials for each sign-in. */
export function checkLoginOptions(options: MlServerLoginOptions): {
  account: string | undefined;
  /** The credentials to sign in with; `refused` is the refusal of a renewal the sign-in replaces. */
  credentials(refused?: AuthenticationError): Promise<MlServerCredentials>;
} {
  if (options.username !== undefined && (typeof options.username !== "string" || options.username === "")) {
    throw new InvalidOptionError("mlServerLogin: username must be a non-empty string.");
  }
  // A password goes with a username; a credentials callback replaces the password (the username
  // may still be given, to name the account in the store). A password key present but undefined is
  // an unset environment variable, not an absent option.
  const hasPair = "password" in options;
  if (hasPair) requireText(options.password, "mlServerLogin's password");
  if (hasPair && options.username === undefined) {
    throw new InvalidOptionError(
      "mlServerLogin needs both username and password (non-empty strings), or a credentials callback.",
    );
  }
  if (hasPair && options.credentials)
    throw new InvalidOptionError("mlServerLogin takes a password or a credentials callback, not both.");
  if (!hasPair && !options.credentials && !options.tokens && !options.store) {
    throw new InvalidOptionError(
      "mlServerLogin needs a username and password, a credentials callback, saved tokens, or a store.",
    );
  }
  const account = options.storeAccount ?? options.username;
  if (options.store && !account)
    throw new InvalidOptionError(
      "mlServerLogin with a store needs username (or storeAccount) to know whose tokens to keep.",
    );
  const callback = options.credentials;
  return {
    account,
    async credentials(refused) {
      if (hasPair) return { username: options.username!, password: options.password! };
      if (!callback) throw new TokenRefreshError(refused ? REFUSED_NO_CREDENTIALS : NO_CREDENTIALS, { cause: refused });
      const given = await callback();
      const username = requireText(given?.username, "The username from mlServerLogin's credentials callback");
      const password = requireText(given?.password, "The password from mlServerLogin's credentials callback");
      return { username, password };
    },
  };
}

const NO_CREDENTIALS =
  "There is no ML Server session to continue (none stored, or it ended) and no credentials are configured to " +
  "sign in: sign in again (with the CLI, `mlserver login`), or give the provider a username and password or a " +
  "credentials callback.";
const REFUSED_NO_CREDENTIALS =
  "ML Server refused the refresh token (expired, revoked, or past the 90-day limit) and no credentials are " +
  "configured: sign in again with a username and password.";
