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

/**
 * Signing in to another server under a profile that already names one replaces it: never silently.
 * With --profile (or MLSERVER_PROFILE) the user said which; otherwise a terminal is asked, and
 * anything else is refused, naming --profile.
 */
async function guardReplacement(ctx: Context): Promise<void> {
  const saved = ctx.config.profiles[ctx.profileName]?.server;
  const wanted = ctx.profile.server;
  if (!saved || !wanted || typeof ctx.values.profile === "string" || ctx.env.MLSERVER_PROFILE) return;
  const { normalizeServer } = await import("./profile-commands.js");
  if (normalizeServer(saved) === normalizeServer(wanted)) return;
  const keep = `Give --profile <name> to sign in to ${wanted} under another name (or --profile ${ctx.profileName} to replace it).`;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new UsageError(`Profile ${ctx.profileName} signs in to ${saved}; signing in to ${wanted} would replace it. ${keep}`);
  }
  const { confirm } = await import("./credentials.js");
  if (!(await confirm(`Profile ${ctx.profileName} signs in to ${saved}. Replace it with ${wanted}? [y/N] `))) throw new UsageError(`Kept profile ${ctx.profileName}. ${keep}`);
}

export async function loginCommand(args: readonly string[], streams: CliStreams): Promise<number> {
  const ctx = await context(args, LOGIN_OPTIONS, streams);
  if (ctx.positionals.length) throw new UsageError("login takes no arguments, only flags.");
  await guardReplacement(ctx);
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
  ctx.out.next("`mlserver status` checks the server; `mlserver services list` shows its web services.");
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

/** `30s`, `10m`, `2h`, `1500ms`, or plain seconds, as milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag} takes a duration such as 30s, 10m or 2h, not ${JSON.stringify(text)}.`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "ms" | "s" | "m" | "h"];
}

export async function tokenCommand(args: readonly string[], streams: CliStreams): Promise<number> {
  const ctx = await context(
    args,
    { "password-stdin": { type: "boolean" }, "client-secret-stdin": { type: "boolean" }, "min-valid": { type: "string" }, output: { type: "string", short: "o" } },
    streams,
  );
  if (ctx.positionals.length) throw new UsageError("token takes no arguments, only flags.");
  const output = ctx.out.json ? "json" : ((ctx.values.output as string | undefined) ?? "token");
  if (!["token", "json", "table", "env"].includes(output)) throw new UsageError(`--output is token, json, table or env, not ${JSON.stringify(output)}.`);
  const minValidityMs = ctx.values["min-valid"] === undefined ? undefined : parseDuration(ctx.values["min-valid"] as string, "--min-valid");
  const { provider } = await connect(ctx);
  const { accessToken, expiresAt } = await provider.getAccessToken(minValidityMs === undefined ? {} : { minValidityMs });
  if (minValidityMs !== undefined && expiresAt - Date.now() < minValidityMs) {
    ctx.out.warn(`the server's tokens last less than --min-valid asks: this one expires ${when(expiresAt)}.`);
  }
  // The one place the CLI prints a secret: it is what this command is for.
  const iso = new Date(expiresAt).toISOString();
  if (output === "json") streams.out.write(`${JSON.stringify({ accessToken, expiresAt: iso }, null, 2)}\n`);
  else if (output === "env") streams.out.write(`MLSERVER_ACCESS_TOKEN=${accessToken}\nMLSERVER_TOKEN_EXPIRES_AT=${iso}\n`);
  else if (output === "table") streams.out.write(`${ctx.out.table(["TOKEN", "EXPIRES"], [[accessToken, when(expiresAt)]])}\n`);
  else streams.out.write(`${accessToken}\n`);
  return 0;
}

export async function statusCommand(args: readonly string[], streams: CliStreams): Promise<number> {
  const ctx = await context(args, {}, streams);
  if (ctx.positionals.length) throw new UsageError("status takes no arguments, only flags.");
  const { client, provider, server } = await connect(ctx);
  const account = accountOf(ctx.profile);
  const { apiError } = await import("../core/errors.js");
  const { expiresAt } = await provider.getAccessToken();
  const { data, error, response } = await client.GET("/status");
  if (!response.ok) throw apiError("Reading the server's status", response, error);
  const health = data as { statusCode?: string; components?: Record<string, { statusCode?: string }> | null };
  const components = Object.entries(health.components ?? {});
  ctx.out.result({ profile: ctx.profileName, server, auth: ctx.profile.auth ?? "login", account, signedIn: true, expiresAt: new Date(expiresAt).toISOString(), health: data }, () => {
    const overall = health.statusCode ?? "unknown";
    return [
      `Server:     ${server} (profile ${ctx.profileName})`,
      `Health:     ${ctx.out.style(overall, overall === "pass" ? "green" : overall === "warn" ? "yellow" : "red")}`,
      ...components.map(([name, c]) => `  ${name}: ${c.statusCode ?? "?"}`),
      `Signed in:  ${account} (${ctx.profile.auth ?? "login"})`,
      `Token:      expires ${when(expiresAt)}`,
    ].join("\n");
  });
  return 0;
}
