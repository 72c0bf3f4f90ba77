import type { AuthProvider } from "../auth/provider.js";
import type { TokenCycleOptions } from "../auth/token-cycler.js";
import type { TokenSource } from "../auth/token-strategy.js";
import type { TokenStoreOptions } from "../auth/token-store.js";
import { tokenStrategy } from "../auth/token-strategy.js";
import { InvalidOptionError, TokenResponseError } from "../core/errors.js";

/** The shape of `@azure/core-auth`'s `AccessToken`, restated so that no Azure package is needed. */
export interface AccessTokenLike {
  token: string;
  expiresOnTimestamp: number;
  refreshAfterTimestamp?: number;
  tokenType?: string;
}

/**
 * The shape of `@azure/core-auth`'s `TokenCredential`: `DefaultAzureCredential`, managed identity,
 * workload identity, and every other `@azure/identity` credential fit it.
 */
export interface TokenCredentialLike {
  /** Resolves to a token for `scopes`, or `null` when none can be had. */
  getToken(
    scopes: string | string[],
    options?: { abortSignal?: AbortSignal; claims?: string; tenantId?: string },
  ): Promise<AccessTokenLike | null>;
}

/**
 * Adapts any `@azure/core-auth` `TokenCredential` into an {@link AuthProvider}: the credential's
 * tokens go through the shared token cycle, renewed from its `refreshAfterTimestamp` when it gives
 * one (else shortly before expiry), one `getToken` for any number of concurrent calls, and once more
 * after a 401.
 *
 * @example
 * ```ts
 * import { DefaultAzureCredential } from "@azure/identity";
 * const auth = fromTokenCredential(new DefaultAzureCredential(), [`${WEB_APP_ID}/.default`]);
 * ```
 */
export function fromTokenCredential(
  credential: TokenCredentialLike,
  scopes: string | string[],
  options: TokenCycleOptions & TokenStoreOptions = {},
): AuthProvider & TokenSource {
  if (typeof credential?.getToken !== "function")
    throw new InvalidOptionError("fromTokenCredential needs a TokenCredential (an object with getToken).");
  const list = typeof scopes === "string" ? [scopes] : scopes;
  if (list.length === 0)
    throw new InvalidOptionError('fromTokenCredential needs at least one scope, e.g. "<web app id>/.default".');
  // A credential is opaque: with a store, the caller names whose tokens these are.
  if (options.store && !options.storeAccount)
    throw new InvalidOptionError(
      "fromTokenCredential with a store needs storeAccount (e.g. the managed identity's client id).",
    );
  return tokenStrategy({
    strategy: "token-credential",
    options,
    storeKey: () => ({ origin: "token-credential", account: `${options.storeAccount} ${list.join(" ")}` }),
    async acquire() {
      const token = await credential.getToken(list);
      if (
        !token ||
        typeof token.token !== "string" ||
        token.token === "" ||
        !Number.isFinite(token.expiresOnTimestamp)
      ) {
        throw new TokenResponseError(
          "The TokenCredential returned no usable token (null, an empty token, or no expiresOnTimestamp).",
        );
      }
      if (token.tokenType !== undefined && token.tokenType.toLowerCase() !== "bearer") {
        throw new TokenResponseError(
          "The TokenCredential returned a token that is not a Bearer token (e.g. proof-of-possession); only " +
            "Bearer tokens are supported.",
        );
      }
      return {
        accessToken: token.token,
        tokenType: "Bearer",
        expiresAt: token.expiresOnTimestamp,
        ...(token.refreshAfterTimestamp !== undefined && { refreshAt: token.refreshAfterTimestamp }),
      };
    },
  }).provider;
}
