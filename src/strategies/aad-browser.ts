/**
 * Azure AD in a browser app, through the app's own `@azure/msal-browser` `PublicClientApplication`
 * (a peer the app installs and configures; nothing of it is bundled here). Tokens come silently
 * from MSAL's cache and its hidden-iframe renewal; when Azure AD needs the user, the strategy falls
 * back to a popup or a redirect, as the app chooses.
 */
import type { AuthProvider } from "../auth/provider.js";
import type { TokenCycleOptions } from "../auth/token-cycler.js";
import type { TokenSource } from "../auth/token-strategy.js";
import { tokenStrategy } from "../auth/token-strategy.js";
import { AuthenticationError, InvalidOptionError, TokenResponseError } from "../core/errors.js";
import type { MsalAccountLike, MsalBrowserAppLike, MsalResultLike } from "./msal-browser-shapes.js";

export type { MsalAccountLike, MsalBrowserAppLike, MsalResultLike } from "./msal-browser-shapes.js";

/** Options of {@link aadBrowser}. */
export interface AadBrowserOptions extends TokenCycleOptions {
  /** The app's `PublicClientApplication`, initialized (`await app.initialize()`). */
  app: MsalBrowserAppLike;
  /** The ML Server web app's scope, e.g. `["api://<web app id>/.default"]`. */
  scopes: string[];
  /**
   * When Azure AD needs the user (no account yet, consent, MFA, an expired session): `popup` (the
   * default) opens one; `redirect` navigates the page to sign in, and the app resumes with
   * `handleRedirectPromise()` on its return; `none` fails with `ERR_AUTHENTICATION_FAILED`, for
   * apps that start sign-in themselves.
   */
  interaction?: "popup" | "redirect" | "none";
  /** The account to get tokens for (default: the app's active account, else its first). */
  account?: MsalAccountLike;
}

/** msal-browser's codes for "silent acquisition cannot work; the user must act". */
const INTERACTION_CODES = new Set([
  "interaction_required",
  "login_required",
  "consent_required",
  "no_account_error",
  "no_tokens_found",
  "monitor_window_timeout",
]);

function needsInteraction(error: unknown): boolean {
  const e = error as { name?: string; errorCode?: string } | null;
  return e?.name === "InteractionRequiredAuthError" || INTERACTION_CODES.has(e?.errorCode ?? "");
}

/**
 * Azure AD tokens for ML Server in a browser app, from the app's msal-browser
 * `PublicClientApplication`: through the shared token cycle (one MSAL call for any number of
 * concurrent API calls, renewal before expiry, one renewal and resend after a 401), silently when
 * MSAL can, by popup or redirect when Azure AD needs the user.
 *
 * @example
 * ```ts
 * import { PublicClientApplication } from "@azure/msal-browser";
 * const app = new PublicClientApplication({
 *   auth: { clientId: SPA_CLIENT_ID, authority: `https://login.microsoftonline.com/${TENANT}` },
 * });
 * await app.initialize();
 * await app.handleRedirectPromise();
 * const client = createMlServerClient({
 *   baseUrl: "https://mlserver.contoso.com",
 *   auth: aadBrowser({ app, scopes: [`api://${WEB_APP_ID}/.default`] }),
 * });
 * ```
 */
export function aadBrowser(options: AadBrowserOptions): AuthProvider & TokenSource {
  const { app, scopes, interaction = "popup" } = options;
  if (typeof app?.acquireTokenSilent !== "function")
    throw new InvalidOptionError(
      "aadBrowser needs the app's PublicClientApplication from @azure/msal-browser (option app).",
    );
  if (!Array.isArray(scopes) || scopes.length === 0)
    throw new InvalidOptionError('aadBrowser needs scopes, e.g. ["api://<web app id>/.default"].');
  let renewing = false;

  const account = () => options.account ?? app.getActiveAccount() ?? app.getAllAccounts()[0];

  async function interactively(known: MsalAccountLike | undefined): Promise<MsalResultLike> {
    const request = { scopes, ...(known && { account: known }) };
    if (interaction === "popup") return app.acquireTokenPopup(request);
    if (interaction === "redirect") {
      await app.acquireTokenRedirect(request);
      throw new AuthenticationError(
        "Azure AD sign-in continues on a redirect: the page is navigating away, and the app resumes with " +
          "handleRedirectPromise() when it returns.",
      );
    }
    throw new AuthenticationError(
      "Azure AD needs the user to sign in (no account, or consent or MFA is required). Start sign-in in the app " +
        '(loginPopup or loginRedirect), or use interaction: "popup".',
    );
  }

  return tokenStrategy({
    strategy: "aad-browser",
    options,
    onSignOut: () => void (renewing = false),
    async acquire() {
      const known = account();
      let result: MsalResultLike;
      try {
        // A renewal asks Azure AD for a new token: MSAL would otherwise hand back the cached one.
        result = known
          ? await app.acquireTokenSilent({ scopes, account: known, ...(renewing && { forceRefresh: true }) })
          : await interactively(undefined);
      } catch (error) {
        if (!needsInteraction(error)) throw error;
        result = await interactively(known);
      }
      if (typeof result?.accessToken !== "string" || result.accessToken === "" || !(result.expiresOn instanceof Date)) {
        throw new TokenResponseError("MSAL returned no usable access token (empty, or no expiresOn).");
      }
      if (result.account && app.setActiveAccount && !app.getActiveAccount()) app.setActiveAccount(result.account);
      renewing = true;
      return { accessToken: result.accessToken, tokenType: "Bearer", expiresAt: result.expiresOn.getTime() };
    },
  }).provider;
}
