import type { components } from "../../generated/mlserver.js";
import type { AuthBinding, AuthProvider } from "../auth/provider.js";
import type { FetchLike, MaybePromise } from "../core/fetch.js";
import type { TokenSource } from "../auth/token-provider.js";
import { PeerMayHaveRenewed, type TokenStoreOptions } from "../auth/token-store.js";
import { tokenStrategy } from "../auth/token-strategy.js";
import { CredentialBoundary } from "../http/boundary.js";
import { setCredentialHeader } from "../http/credentials.js";
import { assertSecureTransport, normalizeBaseUrl } from "../http/origins.js";
import type { TokenCycleOptions } from "../auth/token-cycler.js";
import { sendTokenRequest } from "../auth/token-request.js";
import { parseTokenResponse, type TokenSet } from "../auth/token-set.js";
import {
  AuthenticationError,
  InvalidOptionError,
  SignedOutError,
  TokenRefreshError,
  TokenResponseError,
} from "../core/errors.js";
import { debug, fingerprint } from "../core/log.js";
import { rememberSecret } from "../core/redact.js";
import { requireText } from "../core/required.js";
import { createTransport } from "../http/pipeline.js";

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

interface Endpoint {
  baseUrl: string;
  fetch: FetchLike;
  allowInsecureHttp: boolean;
}

type LoginRequest = components["schemas"]["LoginRequest"];
type RenewTokenRequest = components["schemas"]["RenewTokenRequest"];

/**
 * Authenticates with ML Server's own token service: `POST /login` with a local or LDAP account,
 * renewal with `POST /login/refreshToken` before expiry (the server rotates the pair: calls made
 * during a renewal wait for the new token), a new sign-in when the refresh token has lapsed (if
 * credentials are available), and revocation on sign-out.
 *
 * @example
 * ```ts
 * const auth = mlServerLogin({ username: "admin", password: process.env.MLSERVER_PASSWORD! });
 * const client = createMlServerClient({ baseUrl: "https://mlserver.example.com:12800", auth });
 * await client.GET("/status");
 * await auth.signOut();
 * ```
 */
export function mlServerLogin(options: MlServerLoginOptions): MlServerLoginProvider {
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
  const getCredentials: (() => MaybePromise<MlServerCredentials>) | undefined = hasPair
    ? () => ({ username: options.username!, password: options.password! })
    : options.credentials;
  const timeoutMs = options.timeoutMs ?? 30_000;
  let endpoint: Endpoint | undefined =
    options.baseUrl === undefined ? undefined : bindEndpoint(options.baseUrl, undefined);
  let signedOut = false;

  function bindEndpoint(baseUrl: string, binding: AuthBinding | undefined): Endpoint {
    const allowInsecureHttp = options.allowInsecureHttp ?? binding?.allowInsecureHttp ?? false;
    // The client's fetch is its transport; any other goes through one too, so that token calls
    // always meet the same send-time and redirect rules.
    const fetch =
      !options.fetch && binding
        ? binding.fetch
        : createTransport(new CredentialBoundary([], allowInsecureHttp), options.fetch ?? globalThis.fetch);
    return { baseUrl: normalizeBaseUrl(baseUrl), fetch, allowInsecureHttp };
  }

  /** Binds to the first client's server; a second server is refused, never silently served. */
  let boundAs: string | undefined;
  function endpointFor(binding: AuthBinding): Endpoint {
    // Every request passes here: the common case, the same base URL again, costs one comparison.
    if (endpoint && binding.baseUrl === boundAs) return endpoint;
    const base = normalizeBaseUrl(binding.baseUrl);
    if (!endpoint) endpoint = bindEndpoint(base, binding);
    else if (endpoint.baseUrl !== base) {
      // One provider, one server: tokens of one server must never be sent to another.
      throw new InvalidOptionError(
        `This mlServerLogin provider signs in to ${endpoint.baseUrl}; create a separate one for ${base}.`,
      );
    }
    boundAs = binding.baseUrl;
    return endpoint;
  }

  function requireEndpoint(): Endpoint {
    if (!endpoint)
      throw new InvalidOptionError(
        "mlServerLogin does not know the server yet: pass baseUrl, or create a client with it first.",
      );
    return endpoint;
  }

  async function call(
    label: string,
    method: string,
    path: string,
    init: { body?: unknown; accessToken?: string; emptyBodyOk?: boolean },
    secrets: string[],
  ): Promise<unknown> {
    const ep = requireEndpoint();
    const url = new URL(ep.baseUrl + path);
    assertSecureTransport(url, ep.allowInsecureHttp);
    const headers = new Headers({ accept: "application/json" });
    if (init.body !== undefined) headers.set("content-type", "application/json");
    if (init.accessToken)
      setCredentialHeader(headers, "authorization", `Bearer ${init.accessToken}`, "The access token");
    const request = new Request(url, {
      method,
      headers,
      ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
    });
    return sendTokenRequest(request, {
      fetch: ep.fetch,
      timeoutMs,
      label,
      secrets,
      emptyBodyOk: init.emptyBodyOk === true,
    });
  }

  const clock = options.clock ?? Date.now;
  /** A stored set is ML Server's only with its refresh token. */
  const asTokens = (set: TokenSet) => (set.refreshToken ? (set as MlServerTokens) : undefined);
  /** The time a token request is sent: expiry counts from it (see parseTokenResponse). */
  const toTokens = (body: unknown, sentAt: number): MlServerTokens => {
    const tokens = parseTokenResponse(body, sentAt);
    // ML Server always issues the pair; a set without its refresh token could not be renewed or revoked.
    if (!tokens.refreshToken)
      throw new TokenResponseError("ML Server's token response has no refresh_token; is this an ML Server web node?");
    return { ...tokens, refreshToken: tokens.refreshToken };
  };

  async function login(): Promise<MlServerTokens> {
    if (!getCredentials) {
      throw new TokenRefreshError(
        "There is no ML Server session to continue (none stored, or it ended) and no credentials are configured " +
          "to sign in: sign in again (with the CLI, `mlserver login`), or give the provider a username and " +
          "password or a credentials callback.",
      );
    }
    const given = await getCredentials();
    const username = requireText(given?.username, "The username from mlServerLogin's credentials callback");
    const password = requireText(given?.password, "The password from mlServerLogin's credentials callback");
    rememberSecret(password);
    const body: LoginRequest = { username, password };
    try {
      const sentAt = clock();
      const tokens = toTokens(await call("POST /login", "POST", "/login", { body }, [password]), sentAt);
      debug(`signed in as ${JSON.stringify(username)}: ${fingerprint(tokens.accessToken)}`);
      return tokens;
    } catch (error) {
      if (error instanceof AuthenticationError) {
        throw new AuthenticationError(
          `ML Server refused the sign-in of ${JSON.stringify(username)} (HTTP ${error.status}): check the ` +
            `username and password.`,
          { status: error.status, cause: error },
        );
      }
      throw error;
    }
  }

  async function renew(refreshToken: string): Promise<MlServerTokens> {
    const body: RenewTokenRequest = { refreshToken };
    const sentAt = clock();
    return toTokens(
      await call("POST /login/refreshToken", "POST", "/login/refreshToken", { body }, [refreshToken]),
      sentAt,
    );
  }

  const { provider, cycler, stored, signIn } = tokenStrategy<MlServerTokens>({
    strategy: "ml-server-login",
    options,
    rotating: true,
    ...(options.tokens && { initial: options.tokens }),
    onChange: (tokens) => options.onTokens?.(tokens ? { ...tokens } : null),
    storeKey: () => endpoint && { origin: endpoint.baseUrl, account: account! },
    parse: asTokens,
    bind: (binding) => void endpointFor(binding),
    check(context) {
      if (signedOut) throw new SignedOutError();
      if (context) endpointFor(context);
      else requireEndpoint();
    },
    async acquire(previous, attempt) {
      if (previous?.refreshToken) {
        try {
          return await renew(previous.refreshToken);
        } catch (error) {
          if (!(error instanceof AuthenticationError)) throw error;
          // Not here, under the store's lock: a peer needs it to store the set it renewed.
          if (!attempt.peerChecked && stored.failedLately()) throw new PeerMayHaveRenewed(previous);
          debug(`refresh token ${fingerprint(previous.refreshToken)} refused (HTTP ${error.status}); signing in again`);
          if (!getCredentials) {
            throw new TokenRefreshError(
              "ML Server refused the refresh token (expired, revoked, or past the 90-day limit) and no " +
                "credentials are configured: sign in again with a username and password.",
              { cause: error },
            );
          }
        }
      }
      return login();
    },
    revoke: (tokens) => (endpoint ? revoke(tokens) : Promise.resolve()),
  });

  /** One revoke call; an answer of 200 or 204, with or without a body, is a success. */
  async function revokeOnce(tokens: MlServerTokens): Promise<void> {
    const path =
      options.revokeStyle === "path"
        ? `/login/refreshToken/${encodeURIComponent(tokens.refreshToken)}`
        : `/login/refreshToken?refreshToken=${encodeURIComponent(tokens.refreshToken)}`;
    await call("DELETE /login/refreshToken", "DELETE", path, { accessToken: tokens.accessToken, emptyBodyOk: true }, [
      tokens.refreshToken,
      tokens.accessToken,
    ]);
  }

  async function revoke(tokens: MlServerTokens): Promise<void> {
    try {
      await revokeOnce(tokens);
    } catch (error) {
      if (!(error instanceof AuthenticationError) || error.status !== 401) throw error;
      // The access token lapsed: renew once to be allowed to revoke. If that is refused too, the
      // refresh token is already dead and there is nothing left to revoke. A second 401 after a
      // successful renewal is final: signOut must end.
      const fresh = await renew(tokens.refreshToken).catch((e: unknown) => {
        if (e instanceof AuthenticationError) return undefined;
        throw e;
      });
      if (fresh) await revokeOnce(fresh);
    }
    debug(`revoked refresh token ${fingerprint(tokens.refreshToken)}`);
  }

  return {
    ...provider,
    async signIn({ signal } = {}) {
      requireEndpoint();
      await cycler.settle();
      signedOut = false;
      await signIn(login, signal);
    },
    async signOut() {
      signedOut = true;
      await provider.signOut();
    },
  };
}
