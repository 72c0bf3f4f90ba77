import { debug, fingerprint } from "../core/log.js";
import { setCredentialHeader } from "../http/credentials.js";
import { bearerTokenOf, ownProvider, type AuthBinding, type AuthContext, type AuthProvider } from "./provider.js";
import type { TokenCycler } from "./token-cycler.js";
import type { TokenSet } from "./token-set.js";

/** What a token strategy adds to the shared behaviour of {@link tokenProvider}. */
export interface TokenProviderHooks {
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
export function tokenProvider<T extends TokenSet>(
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
