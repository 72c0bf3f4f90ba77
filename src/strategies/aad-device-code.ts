import type { AccountInfo, DeviceCodeRequest, PublicClientApplication } from "@azure/msal-node";
import type { AuthProvider } from "../auth/provider.js";
import type { TokenCycleOptions } from "../auth/token-cycler.js";
import type { TokenSource } from "../auth/token-strategy.js";
import { debug } from "../core/log.js";
import { msalConfiguration, resolveAuthority, resolveScopes, type AadCommonOptions } from "./msal-options.js";
import { msalTokenProvider } from "./msal-support.js";

/** What to show the user so they can complete the sign-in on another device. */
export interface DeviceCodePrompt {
  /** The page to open, e.g. `https://microsoft.com/devicelogin`. */
  verificationUri: string;
  /** The code to enter there. */
  userCode: string;
  /** Seconds until the code expires. */
  expiresInSeconds: number;
  /** One line saying all of the above. */
  message: string;
}

/** Options of {@link aadDeviceCode}. */
export interface AadDeviceCodeOptions extends AadCommonOptions, TokenCycleOptions {
  /** Shows the prompt; by default one line on stderr. */
  onDeviceCode?: (prompt: DeviceCodePrompt) => void;
  /** Abandons a device sign-in that is waiting for the user. */
  signal?: AbortSignal;
}

/**
 * Azure AD (Entra ID) sign-in with the device code flow, for consoles and scripts: the user opens a
 * page on any device and enters a code. Afterwards tokens are renewed silently from MSAL's cache,
 * with no second prompt while the refresh token lives. Uses `@azure/msal-node`'s public client,
 * loaded on first use. ML Server's AAD settings map as: `authority` (or `tenantId`), `clientId`
 * (the native app), `resource` (the web app's id, ML Server's `Audience`).
 *
 * @example
 * ```ts
 * const auth = aadDeviceCode({ tenantId: "contoso.onmicrosoft.com", clientId: NATIVE_APP_ID, resource: WEB_APP_ID });
 * const client = createMlServerClient({ baseUrl: "https://mlserver.contoso.com:12800", auth });
 * ```
 */
export function aadDeviceCode(options: AadDeviceCodeOptions): AuthProvider & TokenSource {
  const scopes = resolveScopes(options, "aadDeviceCode");
  const authority = resolveAuthority(options, "aadDeviceCode", "organizations");
  let account: AccountInfo | null = null;

  const show = options.onDeviceCode ?? ((prompt: DeviceCodePrompt) => console.error(prompt.message));

  async function deviceCodeSignIn(client: PublicClientApplication) {
    const request: DeviceCodeRequest = {
      scopes,
      deviceCodeCallback: (response) =>
        show({
          verificationUri: response.verificationUri,
          userCode: response.userCode,
          expiresInSeconds: response.expiresIn,
          message:
            `To sign in, open ${response.verificationUri} and enter the code ${response.userCode} (it ` +
            `expires in ${Math.round(response.expiresIn / 60)} min).`,
        }),
    };
    // MSAL stops polling when `cancel` is set on the request it is working on.
    const cancel = () => void (request.cancel = true);
    options.signal?.addEventListener("abort", cancel, { once: true });
    try {
      options.signal?.throwIfAborted();
      return await client.acquireTokenByDeviceCode(request);
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw error;
    } finally {
      options.signal?.removeEventListener("abort", cancel);
    }
  }

  return msalTokenProvider<PublicClientApplication>(
    options,
    {
      strategy: "aad-device-code",
      what: "a token by device code",
      secrets: [],
      ...(options.signal && { signal: options.signal }),
      createApp: (msal, network, cachePlugin) =>
        new msal.PublicClientApplication(msalConfiguration(options, authority, network, {}, cachePlugin)),
      async acquire(client, forceRefresh, network) {
        let result = null;
        // A new process finds the account signed in by an earlier run in the persisted cache.
        account ??= (await client.getTokenCache().getAllAccounts())[0] ?? null;
        if (account) {
          try {
            result = await client.acquireTokenSilent({ account, scopes, forceRefresh });
          } catch (error) {
            // The refresh token has lapsed or was revoked: only a new device sign-in can help.
            debug(
              `silent renewal failed (${(error as { errorCode?: string }).errorCode ?? "error"}); starting a ` +
                `device sign-in`,
            );
            network.lastError = undefined;
          }
        }
        result ??= await deviceCodeSignIn(client);
        account = result?.account ?? null;
        return result;
      },
      async forget(client) {
        account ??= (await client.getTokenCache().getAllAccounts())[0] ?? null;
        if (account) await client.getTokenCache().removeAccount(account);
        account = null;
      },
    },
    authority,
    scopes,
  );
}
