import type { ConfidentialClientApplication } from "@azure/msal-node";
import type { AuthProvider } from "../auth/provider.js";
import type { TokenCycleOptions } from "../auth/token-cycler.js";
import type { TokenSource } from "../auth/token-provider.js";
import { InvalidOptionError } from "../errors.js";
import { msalConfiguration, msalTokenProvider, resolveAuthority, resolveScopes, type AadCommonOptions } from "./msal-support.js";

/** A certificate registered for the app: its private key (PEM) and its SHA-256 thumbprint (hex). */
export interface ClientCertificate {
  privateKey: string;
  thumbprintSha256: string;
  /** The public certificate chain (PEM), sent as `x5c` for subject-name/issuer authentication. */
  x5c?: string;
}

/** Options of {@link aadClientCredentials}: a `clientSecret` or a `certificate`. */
export interface AadClientCredentialsOptions extends AadCommonOptions, TokenCycleOptions {
  clientSecret?: string;
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
 *   tenantId: "contoso.onmicrosoft.com", clientId: DAEMON_APP_ID, clientSecret: process.env.AAD_SECRET!, resource: WEB_APP_ID,
 * });
 * ```
 */
export function aadClientCredentials(options: AadClientCredentialsOptions): AuthProvider & TokenSource {
  const scopes = resolveScopes(options, "aadClientCredentials");
  const authority = resolveAuthority(options, "aadClientCredentials");
  if (!options.clientSecret === !options.certificate) {
    throw new InvalidOptionError("aadClientCredentials needs exactly one of clientSecret or certificate.");
  }
  const secrets = [options.clientSecret, options.certificate?.privateKey].filter((s): s is string => Boolean(s));
  return msalTokenProvider<ConfidentialClientApplication>(options, {
    strategy: "aad-client-credentials",
    what: "a token for the client credentials",
    secrets,
    createApp: (msal, network, cachePlugin) =>
      new msal.ConfidentialClientApplication(
        msalConfiguration(options, authority, network, options.clientSecret ? { clientSecret: options.clientSecret } : { clientCertificate: options.certificate }, cachePlugin),
      ),
    acquire: (app, skipCache) => app.acquireTokenByClientCredential({ scopes, skipCache }),
    forget: (app) => app.clearCache(),
  }, authority, scopes);
}
