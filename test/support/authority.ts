/**
 * The test authority: oidc-provider (a certified OpenID Connect server) over HTTPS on 127.0.0.1,
 * standing in for Azure AD / Entra ID and for any OAuth2 server. Its certificate is made at start
 * with openssl in a temporary folder, and never committed.
 */
import { execFileSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";

export const RESOURCE = "api://mlserver-webapp";
export const AUDIENCE = "mlserver-webapp-id";
export const TENANT = "contoso-tenant";

export interface TestAuthority {
  issuer: string;
  /** PEM of the self-signed certificate the authority serves; trust it explicitly. */
  ca: string;
  clients: {
    basic: { clientId: string; clientSecret: string };
    post: { clientId: string; clientSecret: string };
    device: { clientId: string };
    certificate: { clientId: string; privateKey: string; thumbprintSha256: string };
  };
  /** Tokens issued, by grant type (device-code polls that are still pending do not count). */
  tokenRequests: Record<string, number>;
  /**
   * Completes the device flow's user step as a person would: open the page, enter the code, sign in, consent (or
   * decline).
   */
  approveDevice(userCode: string, options?: { decline?: boolean; user?: string }): Promise<void>;
  /** Answers the next token requests with something that is not a token response. */
  breakTokenEndpoint(mode: "html" | "garbage" | undefined): void;
  close(): Promise<void>;
}

export interface TestAuthorityOptions {
  accessTokenSeconds?: number;
  deviceCodeSeconds?: number;
  /**
   * Serve under this path, e.g. `/contoso-tenant/v2.0`, as Entra ID does: clients that build the
   * authority as `host/tenant` and discover at `…/v2.0/.well-known/…` (such as @azure/identity)
   * then find it.
   */
  pathPrefix?: string;
}

/** The dev server's Azure AD settings for tokens from `authority` (ML Server's `Authority` and `Audience`). */
export function azureAdSettings(authority: TestAuthority): {
  issuer: string;
  audience: string;
  jwksUri: string;
  ca: string;
} {
  return { issuer: authority.issuer, audience: AUDIENCE, jwksUri: `${authority.issuer}/jwks`, ca: authority.ca };
}

/** A certificate for 127.0.0.1, localhost and `names`, made now with openssl; its PEM is also its own CA. */
export function selfSignedCertificate(names: readonly string[] = []): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), "mlserver-client-tls-"));
  try {
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        `subjectAltName=${["localhost", ...names].map((n) => `DNS:${n}`).join(",")},IP:127.0.0.1`,
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
      ],
      { stdio: "ignore", timeout: 30_000 },
    );
    return { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * oidc-provider announces, on every start and on some requests, that its development interactions
 * are on, that the runtime (Node 20) is not one it lists, and that a body was parsed upstream (the
 * adjustment for MSAL's grant type below): all known and intended here. Its WARNING and NOTICE lines
 * are kept out of the test output, where they would bury what matters; anything else still shows.
 */
function silenceOidcProviderNotices(): void {
  // eslint-disable-next-line no-control-regex -- its lines may start with a colour escape
  const known = /^(\x1b\[[0-9;]*m)?oidc-provider (WARNING|NOTICE): /;
  for (const method of ["warn", "info"] as const) {
    const original = console[method];
    if ((original as { quiet?: boolean }).quiet) continue;
    console[method] = Object.assign((...args: unknown[]) => void (known.test(String(args[0])) || original(...args)), {
      quiet: true,
    });
  }
}

export async function startTestAuthority(options: TestAuthorityOptions = {}): Promise<TestAuthority> {
  const { default: Provider } = (silenceOidcProviderNotices(), await import("oidc-provider"));
  const tls = selfSignedCertificate();
  const signingKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });
  const certKeys = generateKeyPairSync("rsa", { modulusLength: 2048 });
  // MSAL signs client assertions with PS256 when given a SHA-256 thumbprint.
  const certPublicJwk = { ...certKeys.publicKey.export({ format: "jwk" }), use: "sig", alg: "PS256" };
  const secret = () => randomBytes(24).toString("base64url");
  const clients = {
    basic: { clientId: "daemon-basic", clientSecret: secret() },
    post: { clientId: "daemon-post", clientSecret: secret() },
    device: { clientId: "native-device-app" },
    certificate: {
      clientId: "daemon-certificate",
      privateKey: certKeys.privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
      thumbprintSha256: "",
    },
  };
  // MSAL names the key in its assertion by an x5t#S256 thumbprint; the authority only checks the signature.
  clients.certificate.thumbprintSha256 = randomBytes(32).toString("hex");

  const server: Server = createServer({ key: tls.key, cert: tls.cert });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const prefix = options.pathPrefix ?? "";
  const issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}${prefix}`;
  const tokenRequests: Record<string, number> = {};
  let broken: "html" | "garbage" | undefined;

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clients.basic.clientId,
        client_secret: clients.basic.clientSecret,
        grant_types: ["client_credentials"],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: "client_secret_basic",
      },
      {
        client_id: clients.post.clientId,
        client_secret: clients.post.clientSecret,
        grant_types: ["client_credentials"],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: "client_secret_post",
      },
      {
        client_id: clients.device.clientId,
        grant_types: ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: "none",
        application_type: "native",
      },
      {
        client_id: clients.certificate.clientId,
        grant_types: ["client_credentials"],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: "private_key_jwt",
        token_endpoint_auth_signing_alg: "PS256",
        jwks: { keys: [certPublicJwk] },
      },
    ],
    jwks: { keys: [{ ...signingKey, use: "sig", alg: "RS256", kid: "test-signing-key" }] },
    cookies: { keys: [secret()] },
    scopes: ["openid", "profile", "offline_access"],
    claims: { openid: ["sub"], profile: ["preferred_username", "name", "tid"] },
    // MSAL builds its account from the id_token's claims; tid makes it tenant-aware as with Entra ID.
    findAccount: async (_ctx: unknown, sub: string) => ({
      accountId: sub,
      claims: async () => ({ sub, preferred_username: `${sub}@contoso.test`, name: sub, tid: TENANT }),
    }),
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      // Access tokens for the ML Server web app are JWTs with its application id as audience, as in Entra ID.
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: `${RESOURCE}/.default`,
          audience: AUDIENCE,
          accessTokenFormat: "jwt",
          accessTokenTTL: options.accessTokenSeconds ?? 3600,
          jwt: { sign: { alg: "RS256" } },
        }),
      },
    },
    // MSAL derives the device endpoint from the token endpoint (/token → /devicecode).
    routes: { device_authorization: "/devicecode" },
    ttl: {
      DeviceCode: options.deviceCodeSeconds ?? 600,
      AccessToken: options.accessTokenSeconds ?? 3600,
      ClientCredentials: options.accessTokenSeconds ?? 3600,
    },
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) =>
      client.grantTypeAllowed("refresh_token"),
    // Entra ID asks nothing of a user who consented before; the dev pages ask once per grant.
    loadExistingGrant: undefined,
  } as never);
  provider.proxy = false;
  // MSAL reuses its client assertion while it is valid, and Entra ID accepts that; oidc-provider
  // would refuse the second use as a replay. (Replay detection is used for nothing else here.)
  (provider as unknown as { ReplayDetection: { unique: () => Promise<boolean> } }).ReplayDetection.unique = async () =>
    true;

  provider.use(async (ctx: any, next: () => Promise<void>) => {
    let grant: string | undefined;
    if (ctx.method === "POST" && ctx.path === "/token") {
      const chunks: Buffer[] = [];
      for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
      const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
      // MSAL sends Entra ID's short grant type; oidc-provider knows only RFC 8628's URN.
      if (form.get("grant_type") === "device_code")
        form.set("grant_type", "urn:ietf:params:oauth:grant-type:device_code");
      grant = form.get("grant_type") ?? "none";
      if (broken) {
        ctx.status = 200;
        ctx.type = broken === "html" ? "text/html" : "application/json";
        ctx.body =
          broken === "html"
            ? "<html><body><h1>Sign-in service is down for maintenance</h1></body></html>"
            : '{"access_token": "trunc';
        return;
      }
      // The stream is read; oidc-provider then takes the parsed body from req.body.
      ctx.req.body = form.toString();
    }
    await next();
    if (grant && ctx.status === 200) tokenRequests[grant] = (tokenRequests[grant] ?? 0) + 1;
    // oidc-provider sends no polling interval, and MSAL would then poll in a busy loop.
    if (ctx.path === "/devicecode" && ctx.body && typeof ctx.body === "object") ctx.body.interval = 0.2;
  });
  const callback = provider.callback();
  server.on("request", (req, res) => {
    if (prefix) {
      if (!req.url?.startsWith(prefix)) return void res.writeHead(404).end();
      // Mounted under the prefix: oidc-provider sees paths below it, and takes the mount path from originalUrl.
      (req as typeof req & { originalUrl?: string }).originalUrl = req.url;
      req.url = req.url.slice(prefix.length) || "/";
    }
    callback(req, res);
  });

  return {
    issuer,
    ca: tls.cert,
    clients,
    tokenRequests,
    breakTokenEndpoint(mode) {
      broken = mode;
    },
    approveDevice: (userCode, opts = {}) => completeDeviceFlow(issuer, tls.cert, userCode, opts),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * A person at a browser, in a few requests: the device page, the code form, the dev login form and
 * the consent form of oidc-provider, with cookies carried between them.
 */
async function completeDeviceFlow(
  issuer: string,
  ca: string,
  userCode: string,
  options: { decline?: boolean; user?: string },
): Promise<void> {
  const { Agent } = await import("undici");
  const dispatcher = new Agent({ connect: { ca } });
  const cookies = new Map<string, string>();
  const go = async (url: string, init: RequestInit = {}): Promise<{ url: string; html: string }> => {
    let current = new URL(url, issuer).href;
    let request: RequestInit = init;
    for (let hop = 0; hop < 10; hop++) {
      const headers = new Headers(request.headers);
      headers.set("cookie", [...cookies].map(([k, v]) => `${k}=${v}`).join("; "));
      const response = await fetch(current, { ...request, headers, redirect: "manual", dispatcher } as RequestInit);
      for (const line of response.headers.getSetCookie()) {
        const [pair] = line.split(";");
        const [name, ...value] = pair!.split("=");
        cookies.set(name!.trim(), value.join("="));
      }
      const location = response.headers.get("location");
      if (response.status >= 300 && response.status < 400 && location) {
        current = new URL(location, current).href;
        request = {};
        continue;
      }
      return { url: current, html: await response.text() };
    }
    throw new Error("too many redirects in the device flow");
  };
  const submit = async (page: { url: string; html: string }, fields: Record<string, string>, formIndex = 0) => {
    const form = [...page.html.matchAll(/<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)][formIndex];
    if (!form) throw new Error(`no form on ${page.url}: ${page.html.slice(0, 200)}`);
    const body = new URLSearchParams();
    for (const input of form[2]!.matchAll(/<input[^>]*>/g)) {
      const name = /name="([^"]*)"/.exec(input[0])?.[1];
      const value = /value="([^"]*)"/.exec(input[0])?.[1] ?? "";
      if (name) body.set(name, value);
    }
    for (const [k, v] of Object.entries(fields)) body.set(k, v);
    return go(new URL(form[1]!.replace(/&amp;/g, "&"), page.url).href, {
      method: "POST",
      body,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
  };
  try {
    // The pages come in this order: code entry, device confirmation, sign-in, consent, result.
    let page = await go("/device");
    for (let step = 0; step < 8; step++) {
      // The confirmation page carries the code too, so it is recognised first.
      if (/op\.deviceConfirmForm/.test(page.html)) page = await submit(page, options.decline ? { abort: "yes" } : {});
      else if (/name="user_code"/.test(page.html)) page = await submit(page, { user_code: userCode });
      else if (/name="login"/.test(page.html))
        page = await submit(page, { login: options.user ?? "alice", password: "any" });
      else if (/name="prompt" value="consent"/.test(page.html)) page = await submit(page, {});
      else break;
    }
    const expected = options.decline ? /aborted/i : /Sign-in Success/i;
    if (!expected.test(page.html)) {
      const text = page.html.replace(/<style>[\s\S]*?<\/style>/, "").slice(0, 400);
      throw new Error(`the device flow ended on an unexpected page: ${text}`);
    }
  } finally {
    await dispatcher.close();
  }
}
