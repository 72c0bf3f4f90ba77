/**
 * The parts of `@azure/msal-browser` that `aadBrowser` uses, restated, so that msal-browser stays
 * the app's: a peer it installs and configures, never bundled here.
 */

/** msal-browser's `AccountInfo`, as far as it identifies an account (the strategy passes it back to MSAL as it is). */
export interface MsalAccountLike {
  homeAccountId: string;
  environment: string;
  tenantId: string;
  username: string;
  localAccountId: string;
}

/** The parts of msal-browser's `AuthenticationResult` used here. */
export interface MsalResultLike {
  accessToken: string;
  expiresOn: Date | null;
  tokenType?: string;
  account?: MsalAccountLike | null;
}

/**
 * The methods of msal-browser's `PublicClientApplication` the strategy calls (restated, so msal-browser stays the
 * app's).
 */
export interface MsalBrowserAppLike {
  /** A token from MSAL's cache, renewed silently when needed; `forceRefresh` asks Azure AD for a new one. */
  acquireTokenSilent(request: {
    scopes: string[];
    account: MsalAccountLike;
    forceRefresh?: boolean;
  }): Promise<MsalResultLike>;
  /** A token after the user signs in (or consents) in a popup. */
  acquireTokenPopup(request: { scopes: string[]; account?: MsalAccountLike }): Promise<MsalResultLike>;
  /** Navigates the page to sign in; the app picks the result up with `handleRedirectPromise()`. */
  acquireTokenRedirect(request: { scopes: string[]; account?: MsalAccountLike }): Promise<void>;
  /** The account the app chose, if any. */
  getActiveAccount(): MsalAccountLike | null;
  /** Every account MSAL knows in this browser. */
  getAllAccounts(): MsalAccountLike[];
  /** Makes an account the active one (the strategy does, after a first interactive sign-in). */
  setActiveAccount?(account: MsalAccountLike | null): void;
}
