/**
 * The options every Azure AD strategy takes, checked, and the MSAL configuration made from them:
 * Microsoft's authorities in AAD mode, any other OIDC authority (ADFS, Keycloak...) in OIDC mode.
 */
import type { Configuration, ICachePlugin } from "@azure/msal-node";
import type { MsalNetwork } from "./msal-network.js";
import type { TokenStoreOptions } from "../auth/token-store.js";
import type { FetchLike } from "../core/fetch.js";
import { InvalidOptionError } from "../core/errors.js";
import { debug } from "../core/log.js";
import { scrub } from "../core/redact.js";

/** Options every Azure AD strategy takes. */
export interface AadCommonOptions extends TokenStoreOptions {
  /** The application (client) id of the app registration. */
  clientId: string;
  /**
   * The authority, e.g. `https://login.microsoftonline.com/<tenant>` (ML Server's docs write
   * `https://login.windows.net/<tenant>`). Default: Microsoft's, with `tenantId`. Any other OIDC
   * authority (ADFS, Keycloak...) works too: it is then used in OIDC mode, as a known authority.
   */
  authority?: string;
  /** The directory (tenant) id or domain, when `authority` is not given. */
  tenantId?: string;
  /** The scopes to ask for, e.g. `["api://<web app id>/.default"]`; or give `resource`. */
  scopes?: string[];
  /** The ML Server web app's application id (ML Server's `Audience`); becomes the `<resource>/.default` scope. */
  resource?: string;
  /** PEM certificates to trust for the authority, e.g. a corporate root or a self-signed test CA. */
  ca?: string | string[];
  /** The fetch for authority calls; default: the client's. */
  fetch?: FetchLike;
  /** Overrides the authority mode detection (Microsoft host → `AAD`, anything else → `OIDC`). */
  protocolMode?: "AAD" | "OIDC";
  /** Authorities MSAL may trust without instance discovery; default: the authority's host when not Microsoft's. */
  knownAuthorities?: string[];
  /** Time limit per authority call (default 30 s). */
  timeoutMs?: number;
}

const MICROSOFT_HOSTS = new Set([
  "login.microsoftonline.com",
  "login.microsoftonline.us",
  "login.windows.net",
  "login.microsoft.com",
  "login.chinacloudapi.cn",
  "login.partner.microsoftonline.cn",
]);

export function resolveScopes(options: AadCommonOptions, strategy: string): string[] {
  if (options.scopes && options.resource)
    throw new InvalidOptionError(`${strategy} takes scopes or resource, not both.`);
  if (options.resource) return [`${options.resource.replace(/\/+$/, "")}/.default`];
  if (!options.scopes?.length)
    throw new InvalidOptionError(
      `${strategy} needs scopes (e.g. ["api://<web app id>/.default"]) or resource (the ML Server web app id).`,
    );
  return options.scopes;
}

export function resolveAuthority(options: AadCommonOptions, strategy: string, defaultTenant?: string): URL {
  const tenant = options.tenantId ?? defaultTenant;
  const text = options.authority ?? (tenant ? `https://login.microsoftonline.com/${tenant}` : undefined);
  if (!text) throw new InvalidOptionError(`${strategy} needs authority or tenantId.`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidOptionError(`${strategy}: authority ${JSON.stringify(text)} is not a URL.`);
  }
  if (url.protocol !== "https:")
    throw new InvalidOptionError(`${strategy}: the authority must use https:// (MSAL refuses anything else).`);
  return url;
}

/** MSAL configuration for the authority: Microsoft's in AAD mode, any other in OIDC mode. */
export function msalConfiguration(
  options: AadCommonOptions,
  authority: URL,
  network: MsalNetwork,
  auth: Record<string, unknown>,
  cachePlugin?: ICachePlugin,
): Configuration {
  const microsoft = MICROSOFT_HOSTS.has(authority.hostname);
  const protocolMode = options.protocolMode ?? (microsoft ? "AAD" : "OIDC");
  return {
    auth: {
      clientId: options.clientId,
      authority: authority.href.replace(/\/$/, ""),
      ...(options.knownAuthorities || !microsoft
        ? { knownAuthorities: options.knownAuthorities ?? [authority.host] }
        : {}),
      ...auth,
    },
    ...(cachePlugin && { cache: { cachePlugin } }),
    system: {
      networkClient: network,
      protocolMode,
      loggerOptions: {
        piiLoggingEnabled: false,
        logLevel: 1, // warnings and errors only
        loggerCallback: (_level: number, message: string) => debug(`msal: ${scrub(message, [])}`),
      },
    } as Configuration["system"],
  };
}
