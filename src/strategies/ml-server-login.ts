/**
 * ML Server's own token service, one function per protocol step: sign in (`POST /login`), renew
 * (`POST /login/refreshToken`, which rotates the pair) and revoke (`DELETE /login/refreshToken`).
 * Each sends one request to the strategy's server and parses the answer; the token builder does
 * the rest.
 */
import type { components } from "../../generated/mlserver.js";
import { checkLoginOptions, type MlServerCredentials, type MlServerTokens } from "./ml-server-login-options.js";
import type { MlServerLoginOptions, MlServerLoginProvider } from "./ml-server-login-options.js";
import { ServerEndpoint } from "../auth/server-endpoint.js";
import { tokenStrategy } from "../auth/token-strategy.js";
import { parseTokenResponse, type TokenSet } from "../auth/token-set.js";
import { AuthenticationError, SignedOutError, TokenResponseError } from "../core/errors.js";
import { debug, fingerprint } from "../core/log.js";
import { rememberSecret } from "../core/redact.js";

export type {
  MlServerCredentials,
  MlServerLoginOptions,
  MlServerLoginProvider,
  MlServerTokens,
} from "./ml-server-login-options.js";

/** The time in ms, for expiry: it counts from when a token request is sent (see parseTokenResponse). */
type Clock = () => number;

/** ML Server's answer as a token set; ML Server always issues the pair. */
function toTokens(body: unknown, sentAt: number): MlServerTokens {
  const tokens = parseTokenResponse(body, sentAt);
  // A set without its refresh token could not be renewed or revoked.
  if (!tokens.refreshToken)
    throw new TokenResponseError("ML Server's token response has no refresh_token; is this an ML Server web node?");
  return { ...tokens, refreshToken: tokens.refreshToken };
}

/** `POST /login`. A refusal names the account and says to check the credentials. */
async function login(server: ServerEndpoint, { username, password }: MlServerCredentials, clock: Clock) {
  rememberSecret(password);
  const body: components["schemas"]["LoginRequest"] = { username, password };
  try {
    const sentAt = clock();
    const tokens = toTokens(await server.send("POST /login", "POST", "/login", { body }, [password]), sentAt);
    debug(`signed in as ${JSON.stringify(username)}: ${fingerprint(tokens.accessToken)}`);
    return tokens;
  } catch (error) {
    if (!(error instanceof AuthenticationError)) throw error;
    throw new AuthenticationError(
      `ML Server refused the sign-in of ${JSON.stringify(username)} (HTTP ${error.status}): check the ` +
        `username and password.`,
      { status: error.status, cause: error },
    );
  }
}

/** `POST /login/refreshToken`: a new pair for the refresh token, which the server then refuses. */
async function renew(server: ServerEndpoint, refreshToken: string, clock: Clock) {
  const body: components["schemas"]["RenewTokenRequest"] = { refreshToken };
  const sentAt = clock();
  const path = "/login/refreshToken";
  return toTokens(await server.send(`POST ${path}`, "POST", path, { body }, [refreshToken]), sentAt);
}

/**
 * `DELETE /login/refreshToken`, the token in the query (`query`) or the path (`path`, some
 * 2017-era servers). An answer of 200 or 204, with or without a body, is a success. When the access
 * token has lapsed (401), renews once to be allowed to revoke; if that is refused too, the refresh
 * token is already dead and there is nothing left to revoke. A second 401 after a successful
 * renewal is final: sign-out must end.
 */
async function revoke(server: ServerEndpoint, tokens: MlServerTokens, style: "query" | "path", clock: Clock) {
  const once = ({ refreshToken, accessToken }: MlServerTokens) => {
    const token = encodeURIComponent(refreshToken);
    const path = style === "path" ? `/login/refreshToken/${token}` : `/login/refreshToken?refreshToken=${token}`;
    const call = { accessToken, emptyBodyOk: true };
    return server.send("DELETE /login/refreshToken", "DELETE", path, call, [refreshToken, accessToken]);
  };
  try {
    await once(tokens);
  } catch (error) {
    if (!(error instanceof AuthenticationError) || error.status !== 401) throw error;
    const fresh = await renew(server, tokens.refreshToken, clock).catch((e: unknown) => {
      if (e instanceof AuthenticationError) return undefined;
      throw e;
    });
    if (fresh) await once(fresh);
  }
  debug(`revoked refresh token ${fingerprint(tokens.refreshToken)}`);
}

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
  const { account, credentials } = checkLoginOptions(options);
  const { baseUrl, fetch, allowInsecureHttp, timeoutMs = 30_000 } = options;
  const server = new ServerEndpoint({ strategy: "mlServerLogin", baseUrl, fetch, allowInsecureHttp, timeoutMs });
  const clock = options.clock ?? Date.now;
  const signInAgain = async (refused?: AuthenticationError) => login(server, await credentials(refused), clock);
  let signedOut = false;

  const { provider, cycler, signIn } = tokenStrategy<MlServerTokens>({
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
    acquire: signInAgain,
    renew: (previous) => renew(server, previous.refreshToken, clock),
    revoke: (tokens) =>
      server.baseUrl ? revoke(server, tokens, options.revokeStyle ?? "query", clock) : Promise.resolve(),
  });

  return {
    ...provider,
    async signIn({ signal } = {}) {
      server.require();
      await cycler.settle();
      signedOut = false;
      await signIn(signInAgain, signal);
    },
    async signOut() {
      signedOut = true;
      await provider.signOut();
    },
  };
}
