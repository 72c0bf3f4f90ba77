/** `mlserver login`, `logout`, `token` and `status`. */
import type { CliStreams } from "./output.js";
import { UsageError, when } from "./output.js";
import { accountOf } from "./credentials.js";
import { connect, context, type Context } from "./context.js";
import { PROFILE_FIELDS, writeConfig, type AuthKind, type Profile } from "./settings.js";

const LOGIN_OPTIONS = {
  "device-code": { type: "boolean" },
  "client-credentials": { type: "boolean" },
  "password-stdin": { type: "boolean" },
  "client-secret-stdin": { type: "boolean" },
} as const;

/** Which kind of sign-in `login`'s flags ask for (the profile's, when no kind flag is given). */
function loginKind(ctx: Context): AuthKind {
  const { values, profile } = ctx;
  if (values["device-code"] && values["client-credentials"]) throw new UsageError("--device-code and --client-credentials do not go together.");
  if (values["device-code"]) return "device-code";
  if (values["client-credentials"]) return profile.tokenUrl ? "client-credentials" : "aad-client-credentials";
  if (typeof values.auth === "string") return values.auth as AuthKind;
  // A flag naming the account decides; otherwise keep what the profile says.
  if (typeof values.username === "string") return "login";
  return profile.auth ?? "login";
}

export async function loginCommand(args: readonly string[], streams: CliStreams): Promise<number> {
  const ctx = await context(args, LOGIN_OPTIONS, streams);
  if (ctx.positionals.length) throw new UsageError("login takes no arguments, only flags.");
  ctx.profile.auth = loginKind(ctx);
  if (ctx.profile.auth === "login" && !ctx.profile.username) throw new UsageError("login needs --username (or MLSERVER_USERNAME) for an ML Server account.");
  const { provider, server } = await connect(ctx, { interactive: true });
  // A fresh sign-in: what the cache held for this account is replaced, not reused.
  if (provider.signIn) await provider.signIn();
  const { expiresAt } = await provider.getAccessToken();
  await saveProfile(ctx);
  const account = accountOf(ctx.profile);
  ctx.out.result(
    { profile: ctx.profileName, server, auth: ctx.profile.auth, account, expiresAt: new Date(expiresAt).toISOString() },
    () => `Signed in to ${server} as ${account} (profile ${ctx.profileName}); the access token expires ${when(expiresAt)} and is renewed as needed.`,
  );
  return 0;
}

/** Remembers the profile's settings (never a secret) and makes it the default if there is none. */
async function saveProfile(ctx: Context): Promise<void> {
  const saved: Profile = {};
  for (const field of PROFILE_FIELDS) if (ctx.profile[field] !== undefined) (saved as Record<string, string>)[field] = ctx.profile[field]!;
  if (ctx.profile.allowInsecureHttp) saved.allowInsecureHttp = true;
  ctx.config.profiles[ctx.profileName] = saved;
  ctx.config.defaultProfile ??= ctx.profileName;
  await writeConfig(ctx.config, ctx.configFile);
}

export async function logoutCommand(args: readonly string[], streams: CliStreams): Promise<number> {
  const ctx = await context(args, {}, streams);
  if (ctx.positionals.length) throw new UsageError("logout takes no arguments, only flags.");
  const { provider, server } = await connect(ctx);
  await provider.signOut?.();
  ctx.out.result({ profile: ctx.profileName, server, signedOut: true }, () => `Signed out of ${server} (profile ${ctx.profileName}): the session is revoked and the cached tokens deleted.`);
  return 0;
}

export async function tokenCommand(args: readonly string[], streams: CliStreams): Promise<number> {
  const ctx = await context(args, { "password-stdin": { type: "boolean" }, "client-secret-stdin": { type: "boolean" } }, streams);
  if (ctx.positionals.length) throw new UsageError("token takes no arguments, only flags.");
  const { provider } = await connect(ctx);
  const { accessToken, expiresAt } = await provider.getAccessToken();
  // The one place the CLI prints a secret: it is what this command is for.
  if (ctx.out.json) ctx.out.result({ accessToken, expiresAt: new Date(expiresAt).toISOString() }, () => undefined);
  else streams.out.write(`${accessToken}\n`);
  return 0;
}

export async function statusCommand(args: readonly string[], streams: CliStreams): Promise<number> {
  const ctx = await context(args, {}, streams);
  if (ctx.positionals.length) throw new UsageError("status takes no arguments, only flags.");
  const { client, provider, server } = await connect(ctx);
  const account = accountOf(ctx.profile);
  const { apiError } = await import("../index.js");
  const { expiresAt } = await provider.getAccessToken();
  const { data, error, response } = await client.GET("/status");
  if (!response.ok) throw apiError("Reading the server's status", response, error);
  const health = data as { statusCode?: string; components?: Record<string, { statusCode?: string }> | null };
  const components = Object.entries(health.components ?? {});
  ctx.out.result(
    { profile: ctx.profileName, server, auth: ctx.profile.auth ?? "login", account, signedIn: true, expiresAt: new Date(expiresAt).toISOString(), health: data },
    () => {
      const overall = health.statusCode ?? "unknown";
      return [
        `Server:     ${server} (profile ${ctx.profileName})`,
        `Health:     ${ctx.out.style(overall, overall === "pass" ? "green" : overall === "warn" ? "yellow" : "red")}`,
        ...components.map(([name, c]) => `  ${name}: ${c.statusCode ?? "?"}`),
        `Signed in:  ${account} (${ctx.profile.auth ?? "login"})`,
        `Token:      expires ${when(expiresAt)}`,
      ].join("\n");
    },
  );
  return 0;
}
