// aadBrowser: the strategy's use of an msal-browser PublicClientApplication. The application object
// here is a recording stand-in (msal-browser itself needs a browser and an interactive sign-in), but
// the tokens it hands out are real ones from the test authority (oidc-provider over HTTPS), and the
// dev server in Azure AD mode verifies each against the authority's keys.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../devserver/server.js";
import {
  aadBrowser,
  createMlServerClient,
  type MsalAccountLike,
  type MsalBrowserAppLike,
  type MsalResultLike,
} from "../../src/index.js";
import { fetchTrusting } from "../../src/http/dispatcher.js";
import { azureAdSettings, RESOURCE, startTestAuthority, type TestAuthority } from "../support/authority.js";

let authority: TestAuthority;
let server: DevServer;

beforeAll(async () => {
  authority = await startTestAuthority();
  server = await startDevServer({ azureActiveDirectory: azureAdSettings(authority) });
}, 180_000);
afterAll(async () => {
  await server?.close();
  await authority?.close();
});

const ALICE: MsalAccountLike = {
  homeAccountId: "alice.contoso",
  environment: "login.contoso.test",
  tenantId: "contoso-tenant",
  username: "alice@contoso.com",
  localAccountId: "alice",
};

/** A real access token for the ML Server web app, from the test authority. */
async function realToken(): Promise<MsalResultLike> {
  const { clientId, clientSecret } = authority.clients.post;
  const response = await fetchTrusting(authority.ca)(
    new Request(`${authority.issuer}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: clientId,
        client_secret: clientSecret,
        scope: `${RESOURCE}/.default`,
      }),
    }),
  );
  const body = (await response.json()) as { access_token: string; expires_in: number };
  return {
    accessToken: body.access_token,
    expiresOn: new Date(Date.now() + body.expires_in * 1000),
    tokenType: "Bearer",
    account: ALICE,
  };
}

/** A PublicClientApplication stand-in that records what the strategy asks of it. */
function recordingApp(behaviour: { account?: MsalAccountLike | null; silent?: "ok" | "interaction-required" } = {}) {
  const calls: string[] = [];
  let active = behaviour.account === undefined ? ALICE : behaviour.account;
  const app: MsalBrowserAppLike = {
    async acquireTokenSilent({ account, forceRefresh }) {
      calls.push(`silent ${account.homeAccountId}${forceRefresh ? " force" : ""}`);
      if (behaviour.silent === "interaction-required")
        throw Object.assign(new Error("AADSTS50058: A silent sign-in request was sent but no user is signed in."), {
          name: "InteractionRequiredAuthError",
          errorCode: "login_required",
        });
      return realToken();
    },
    async acquireTokenPopup() {
      calls.push("popup");
      return realToken();
    },
    async acquireTokenRedirect() {
      calls.push("redirect");
    },
    getActiveAccount: () => active,
    getAllAccounts: () => (active ? [active] : []),
    setActiveAccount(account) {
      calls.push(`setActive ${account?.homeAccountId}`);
      active = account;
    },
  };
  return { app, calls };
}

describe("aadBrowser", () => {
  it("gets one token silently for 40 concurrent calls, accepted by ML Server in Azure AD mode", async () => {
    const { app, calls } = recordingApp();
    server.resetCounters();
    const client = createMlServerClient({
      baseUrl: server.url,
      auth: aadBrowser({ app, scopes: [`${RESOURCE}/.default`] }),
    });
    const statuses = await Promise.all(
      Array.from({ length: 40 }, async () => (await client.GET("/status")).response.status),
    );
    expect(statuses).toEqual(Array(40).fill(200));
    expect(calls).toEqual(["silent alice.contoso"]);
    expect(server.counters.azureAdCalls).toBe(40);
  });

  it(
    "after a 401, renews once with forceRefresh (MSAL would hand back its cached token otherwise) and " + "resends",
    async () => {
      const { app, calls } = recordingApp();
      const client = createMlServerClient({
        baseUrl: server.url,
        auth: aadBrowser({ app, scopes: [`${RESOURCE}/.default`] }),
      });
      await client.GET("/status");
      server.faults.push({ route: "GET /status", kind: "status", status: 401, times: 1 });
      expect((await client.GET("/status")).response.status).toBe(200);
      expect(calls).toEqual(["silent alice.contoso", "silent alice.contoso force"]);
    },
  );

  it("falls back to a popup when Azure AD needs the user, and when there is no account yet", async () => {
    const needsUser = recordingApp({ silent: "interaction-required" });
    const client = createMlServerClient({
      baseUrl: server.url,
      auth: aadBrowser({ app: needsUser.app, scopes: [`${RESOURCE}/.default`] }),
    });
    expect((await client.GET("/status")).response.status).toBe(200);
    expect(needsUser.calls).toEqual(["silent alice.contoso", "popup"]);

    const fresh = recordingApp({ account: null });
    const first = createMlServerClient({
      baseUrl: server.url,
      auth: aadBrowser({ app: fresh.app, scopes: [`${RESOURCE}/.default`] }),
    });
    expect((await first.GET("/status")).response.status).toBe(200);
    expect(fresh.calls).toEqual(["popup", "setActive alice.contoso"]);
  });

  it(
    'interaction "redirect" navigates (acquireTokenRedirect) and says so; "none" fails with ' +
      "ERR_AUTHENTICATION_FAILED",
    async () => {
      const redirecting = recordingApp({ silent: "interaction-required" });
      const viaRedirect = createMlServerClient({
        baseUrl: server.url,
        auth: aadBrowser({ app: redirecting.app, scopes: [`${RESOURCE}/.default`], interaction: "redirect" }),
      });
      await expect(viaRedirect.GET("/status")).rejects.toMatchObject({
        code: "ERR_AUTHENTICATION_FAILED",
        message: expect.stringMatching(/continues on a redirect/),
      });
      expect(redirecting.calls).toEqual(["silent alice.contoso", "redirect"]);

      const none = recordingApp({ account: null });
      const noInteraction = createMlServerClient({
        baseUrl: server.url,
        auth: aadBrowser({ app: none.app, scopes: [`${RESOURCE}/.default`], interaction: "none" }),
      });
      await expect(noInteraction.GET("/status")).rejects.toMatchObject({
        code: "ERR_AUTHENTICATION_FAILED",
        message: expect.stringMatching(/needs the user to sign in/),
      });
      expect(none.calls).toEqual([]);
    },
  );

  it("refuses options it cannot work with, at construction", () => {
    expect(() => aadBrowser({ app: {} as MsalBrowserAppLike, scopes: ["x"] })).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_OPTION" }),
    );
    expect(() => aadBrowser({ app: recordingApp().app, scopes: [] })).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_OPTION" }),
    );
  });
});
