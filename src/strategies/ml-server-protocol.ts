/**
 * ML Server's token service, one function per protocol step: sign in (`POST /login`), renew
 * (`POST /login/refreshToken`, which rotates the pair) and revoke (`DELETE /login/refreshToken`).
 * Each sends one request to the strategy's server and parses the answer; none keeps state.
 */
import type { components } from "../../generated/mlserver.js";
import type { MlServerCredentials, MlServerTokens } from "./ml-server-login-options.js";
import type { ServerEndpoint } from "../auth/server-endpoint.js";
import { parseTokenResponse } from "../auth/token-set.js";
import { AuthenticationError, TokenResponseError } from "../core/errors.js";
import { debug, fingerprint } from "../core/log.js";
import { rememberSecret } from "../core/redact.js";

type LoginRequest = components["schemas"]["LoginRequest"];
type RenewTokenRequest = components["schemas"]["RenewTokenRequest"];

/** The time in ms, for expiry: it counts from when a token request is sent (see parseTokenResponse). */
type Clock = () => number;

/** ML Server's answer as a token set; ML Server always issues the pair. */
export function toTokens(body: unknown, sentAt: number): MlServerTokens {
  const tokens = parseTokenResponse(body, sentAt);
  // A set without its refresh token could not be renewed or revoked.
  if (!tokens.refreshToken)
    throw new TokenResponseError("ML Server's token response has no refresh_token; is this an ML Server web node?");
  return { ...tokens, refreshToken: tokens.refreshToken };
}

/** `POST /login`. A refusal names the account and says to check the credentials. */
export async function login(
  server: ServerEndpoint,
  { username, password }: MlServerCredentials,
  clock: Clock,
): Promise<MlServerTokens> {
  rememberSecret(password);
  const body: LoginRequest = { username, password };
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
export async function renew(server: ServerEndpoint, refreshToken: string, clock: Clock): Promise<MlServerTokens> {
  const body: RenewTokenRequest = { refreshToken };
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
export async function revoke(
  server: ServerEndpoint,
  tokens: MlServerTokens,
  style: "query" | "path",
  clock: Clock,
): Promise<void> {
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
