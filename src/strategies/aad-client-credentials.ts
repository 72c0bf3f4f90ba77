import type { ConfidentialClientApplication } from "@azure/msal-node";
import { requireText } from "../core/required.js";
import type { AuthProvider } from "../auth/provider.js";
import type { MaybePromise } from "../core/fetch.js";
import { rememberSecret } from "../core/redact.js";
import type { TokenCycleOptions } from "../auth/token-cycler.js";
import type { TokenSource } from "../auth/token-strategy.js";
import { InvalidOptionError } from "../core/errors.js";
import { msalConfiguration, resolveAuthority, resolveScopes, type AadCommonOptions } from "./msal-options.js";
import { msalTokenProvider } from "./msal-support.js";

/** A certificate registered for the app: its private key (PEM) and its SHA-256 thumbprint (hex). */
export interface ClientCertificate {
  privateKey: string;
  thumbprintSha256: string;
  /** The public certificate chain (PEM), sent as `x5c` for subject-name/issuer authentication. */
  x5c?: string;
}

/** Options of {@link aadClientCredentials}: a `clientSecret` or a `certificate`. */
export interface AadClientCredentialsOptions extends AadCommonOptions, TokenCycleOptions {
  /** The client secret, or a callback that supplies it when MSAL first needs it (a cached token is used without it). */
  clientSecret?: string | (() => MaybePromise<string>);
  certificate?: ClientCertificate;
}

/**
 * Azure AD (Entra ID) client credentials, for daemons and cron jobs running as a service principal,
 * with a client secret or a certificate. Uses `@azure/msal-node`'s confidential client (loaded on
 * first use), whose cache serves repeated requests; after a 401 the cache is bypassed once.
 *
 * @example
 * ```ts
 * const auth = aadClientCredentials({
 *   tenantId: "contoso.onmicrosoft.com",
 *   clientId: DAEMON_APP_ID,
 *   clientSecret: process.env.AAD_SECRET!,
 *   resource: WEB_APP_ID,
 * });
 * ```
 */
export function aadClientCredentials(options: AadClientCredentialsOptions): AuthProvider & TokenSource {
  const scopes = resolveScopes(options, "aadClientCredentials");
  const authority = resolveAuthority(options, "aadClientCredentials");
  if ("clientSecret" in options && !options.certificate && typeof options.clientSecret !== "function")
    requireText(options.clientSecret, "aadClientCredentials' clientSecret");
  if (!options.clientSecret === !options.certificate) {
    throw new InvalidOptionError("aadClientCredentials needs exactly one of clientSecret or certificate.");
  }
  const secrets = [options.clientSecret, options.certificate?.privateKey].filter(
    (s): s is string => typeof s === "string" && s !== "",
  );
  const credential = async (): Promise<Record<string, unknown>> => {
    if (!options.clientSecret) return { clientCertificate: options.certificate };
    const clientSecret = typeof options.clientSecret === "string" ? options.clientSecret : await options.clientSecret();
    requireText(clientSecret, "The secret from aadClientCredentials' clientSecret callback");
    rememberSecret(clientSecret);
    return { clientSecret };
  };
  return msalTokenProvider<ConfidentialClientApplication>(
    options,
    {
      strategy: "aad-client-credentials",
      what: "a token for the client credentials",
      secrets,
      createApp: async (msal, network, cachePlugin) =>
        new msal.ConfidentialClientApplication(
          msalConfiguration(options, authority, network, await credential(), cachePlugin),
        ),
      acquire: (app, skipCache) => app.acquireTokenByClientCredential({ scopes, skipCache }),
      forget: (app) => app.clearCache(),
    },
    authority,
    scopes,
  );
}
