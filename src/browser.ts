/**
 * The browser build of mlserver-client (the `browser` condition of the package's exports): the
 * client, the strategies a web page can use, the services helpers and the token stores a page
 * has, with the global `fetch` as the transport and no Node built-in anywhere in its module graph.
 * The Node-only strategies are still exported, as functions that throw `ERR_UNSUPPORTED_PLATFORM`
 * saying what to use instead, so that a shared module that imports one still bundles.
 *
 * Tokens stay in memory unless the app passes a store: `sessionStorageTokenStore()` keeps them for
 * the tab's life. Not `localStorage`: any script running in the page (an XSS flaw, a compromised
 * dependency) could read a refresh token there, long after the tab is gone.
 *
 * @example
 * ```ts
 * import { createMlServerClient, mlServerLogin } from "mlserver-client"; // the bundler picks this build
 * const auth = mlServerLogin({ username, password });
 * const client = createMlServerClient({ baseUrl: "https://mlserver.contoso.com", auth });
 * const { data } = await client.GET("/services");
 * await auth.signOut(); // revokes the refresh token on the server
 * ```
 *
 * @module
 */
import { UnsupportedPlatformError } from "./core/errors.js";

export * from "./portable.js";

const nodeOnly = (name: string, instead: string) => (): never => {
  throw new UnsupportedPlatformError(name, instead);
};

/** Not in the browser build: device code needs msal-node. Use {@link aadBrowser} with `@azure/msal-browser`. */
export const aadDeviceCode = /* @__PURE__ */ nodeOnly(
  "aadDeviceCode (msal-node)",
  "In a browser, use aadBrowser with the app's @azure/msal-browser PublicClientApplication.",
);
/** Not in the browser build: a client secret must never ship to a browser. */
export const aadClientCredentials = /* @__PURE__ */ nodeOnly(
  "aadClientCredentials",
  "A client secret or certificate must never reach a browser: get tokens in a backend, or use aadBrowser for " +
    "the signed-in user.",
);
/** Not in the browser build: a client secret must never ship to a browser. */
export const clientCredentials = /* @__PURE__ */ nodeOnly(
  "clientCredentials",
  "A client secret must never reach a browser: get tokens in a backend and pass them with bearer().",
);
/** Not in the browser build: browsers answer Digest challenges themselves. */
export const httpDigest = /* @__PURE__ */ nodeOnly(
  "httpDigest (MD5 from node:crypto)",
  "Browsers answer Digest challenges themselves; or use httpBasic over HTTPS.",
);
/** Not in the browser build: there is no file system. */
export const fileTokenStore = /* @__PURE__ */ nodeOnly(
  "fileTokenStore",
  "In a browser, keep tokens in memory (the default) or use sessionStorageTokenStore().",
);
/** Not in the browser build: a page cannot reach Redis. */
export const redisTokenStore = /* @__PURE__ */ nodeOnly(
  "redisTokenStore",
  "In a browser, keep tokens in memory (the default) or use sessionStorageTokenStore().",
);
/** Not in the browser build: there is no file system. */
export const saveServerFiles = /* @__PURE__ */ nodeOnly(
  "saveServerFiles",
  "In a browser, offer the bytes as a download (a Blob and an object URL) instead.",
);
