import { assertHeaderValue } from "../http/credentials.js";
import { requireText } from "../core/required.js";
import { ownProvider, type AuthProvider } from "../auth/provider.js";
import { rememberSecret } from "../core/redact.js";
import type { TokenCycleOptions } from "../auth/token-cycler.js";
import { tokenStrategy } from "../auth/token-strategy.js";
import { jwtExpiry } from "../auth/token-set.js";
import { InvalidOptionError, TokenResponseError } from "../core/errors.js";

/** What a bearer callback returns: a token, optionally with its expiry (ms since the epoch). */
export type BearerTokenResult = string | { token: string; expiresAt?: number };

/**
 * Sends a bearer token from another source. Given a string, it sends that token as it is. Given a
 * callback, it asks it for tokens through the shared token cycle: concurrent calls share one
 * answer; a token with an `expiresAt` (or a JWT with `exp`) is reused and renewed before expiry; a
 * token without either is asked for again on each call; after a 401 the callback is asked once more
 * and the request resent once.
 *
 * @example
 * ```ts
 * const client = createMlServerClient({ baseUrl, auth: bearer(process.env.MLSERVER_TOKEN!) });
 * const fromVault = bearer(async () => ({ token: await vault.get("ml"), expiresAt: Date.now() + 3_600_000 }));
 * ```
 */
export function bearer(
  tokenOrCallback: string | (() => BearerTokenResult | Promise<BearerTokenResult>),
  options: TokenCycleOptions = {},
): AuthProvider {
  if (typeof tokenOrCallback !== "function") {
    requireText(tokenOrCallback, "bearer()'s token");
    if (tokenOrCallback.trim() === "") throw new InvalidOptionError("bearer() was given an empty token.");
    const header = `Bearer ${tokenOrCallback}`;
    rememberSecret(tokenOrCallback);
    // Checked now, not at the first call: a wrapped token pasted into a variable fails at once.
    assertHeaderValue(header, "The bearer token");
    return ownProvider({
      authorize(request) {
        request.headers.set("authorization", header);
      },
    });
  }
  const callback = tokenOrCallback;
  const clock = options.clock ?? Date.now;
  return tokenStrategy({
    strategy: "custom",
    options,
    async acquire() {
      const result = await callback();
      const { token, expiresAt } =
        typeof result === "string" ? { token: result, expiresAt: undefined } : (result ?? {});
      if (typeof token !== "string" || token.trim() === "") {
        throw new TokenResponseError(
          "The bearer token callback returned no token (an empty string or a value without `token`).",
        );
      }
      // No known expiry: the token is good for this call only, so the next call asks again.
      return { accessToken: token, tokenType: "Bearer", expiresAt: expiresAt ?? jwtExpiry(token) ?? clock() };
    },
  }).provider;
}
