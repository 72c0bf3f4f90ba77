/**
 * Sign-in, renewal and revoke, with ML Server's token semantics (see `TokenAuthority`). Revoke
 * needs no access token, as ML Server's token documentation and every per-service swagger have it:
 * the refresh token is the credential.
 */
import { HttpError } from "../http-error.js";
import type { DevState } from "../state.js";
import type { RouteAnswer, RouteTable } from "./route.js";

function revoke(state: DevState, refreshToken: string): RouteAnswer {
  if (!state.authority.revoke(refreshToken)) throw new HttpError(401, "invalid or expired refresh token");
  state.server.counters.revokes++;
  return [200, {}];
}

export const loginRoutes: RouteTable = {
  async login({ state, body }) {
    const user = state.users.find((u) => u.username === body.username && u.password === body.password);
    if (!user) {
      state.server.counters.failedLogins++;
      throw new HttpError(401, "invalid credentials");
    }
    state.server.counters.logins++;
    return [200, await state.authority.signIn(user.username, user.accessTokenSeconds)];
  },
  async renewToken({ state, body }) {
    const tokens = await state.authority.renew(String(body.refreshToken));
    if (!tokens) {
      state.server.counters.failedRenewals++;
      throw new HttpError(401, "invalid or expired refresh token");
    }
    state.server.counters.renewals++;
    return [200, tokens];
  },
  revokeRefreshToken: ({ state, query }) => revoke(state, query.get("refreshToken")!),
  /** The path form of 2017-era servers (served with the `legacyRevokePath` option). */
  revokeRefreshTokenInPath: ({ state, params }) => revoke(state, params.refreshToken!),
};
