import type { MlServerLoginOptions, MlServerLoginProvider, MlServerTokens } from "./ml-server-login-options.js";
import { checkLoginOptions } from "./ml-server-login-options.js";
import { login, renew, revoke } from "./ml-server-protocol.js";
import { ServerEndpoint } from "../auth/server-endpoint.js";
import { PeerMayHaveRenewed } from "../auth/token-store.js";
import { tokenStrategy } from "../auth/token-strategy.js";
import type { TokenSet } from "../auth/token-set.js";
import { AuthenticationError, SignedOutError, TokenRefreshError } from "../core/errors.js";
import { debug, fingerprint } from "../core/log.js";
import { requireText } from "../core/required.js";

export type {
  MlServerCredentials,
  MlServerLoginOptions,
  MlServerLoginProvider,
  MlServerTokens,
} from "./ml-server-login-options.js";

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
  const { account, getCredentials } = checkLoginOptions(options);
  const server = new ServerEndpoint({
    strategy: "mlServerLogin",
    baseUrl: options.baseUrl,
    fetch: options.fetch,
    allowInsecureHttp: options.allowInsecureHttp,
    timeoutMs: options.timeoutMs ?? 30_000,
  });
  const clock = options.clock ?? Date.now;
  let signedOut = false;

  async function signInWithCredentials(): Promise<MlServerTokens> {
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
    return login(server, { username, password }, clock);
  }

  const { provider, cycler, stored, signIn } = tokenStrategy<MlServerTokens>({
    strategy: "ml-server-login",
    options,
    rotating: true,
    ...(options.tokens && { initial: options.tokens }),
    onChange: (tokens) => options.onTokens?.(tokens ? { ...tokens } : null),
    storeKey: () => (server.baseUrl === undefined ? undefined : { origin: server.baseUrl, account: account! }),
    // A stored set is ML Server's only with its refresh token.
    parse: (set: TokenSet) => (set.refreshToken ? (set as MlServerTokens) : undefined),
    bind: (binding) => server.bind(binding),
    check(context) {
      if (signedOut) throw new SignedOutError();
      if (context) server.bind(context);
      else server.require();
    },
    async acquire(previous, attempt) {
      if (previous?.refreshToken) {
        try {
          return await renew(server, previous.refreshToken, clock);
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
      return signInWithCredentials();
    },
    revoke: (tokens) =>
      server.baseUrl ? revoke(server, tokens, options.revokeStyle ?? "query", clock) : Promise.resolve(),
  });

  return {
    ...provider,
    async signIn({ signal } = {}) {
      server.require();
      await cycler.settle();
      signedOut = false;
      await signIn(signInWithCredentials, signal);
    },
    async signOut() {
      signedOut = true;
      await provider.signOut();
    },
  };
}
