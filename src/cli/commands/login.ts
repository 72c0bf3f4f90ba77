/** `mlserver login`: sign in, cache the tokens, and save the profile's settings. */
import { defineCommand } from "../command.js";
import { connect, context, type Context } from "../context.js";
import { accountOf } from "../credentials.js";
import { UsageError, when } from "../output.js";
import { PROFILE_FIELDS, writeConfig, type AuthKind, type Profile } from "../settings.js";

export const login = defineCommand({
  name: "login",
  summary: "Sign in and cache the tokens; save the profile",
  usage: `mlserver login --server <url> --username <name> [--password-stdin] [--profile <name>]
mlserver login --device-code --authority <url> | --tenant <id> --client-id <id> --resource <id> | --scope <s>
mlserver login --client-credentials --client-id <id> [--client-secret-stdin]
               (--token-url <url> [--scope <s>] | --authority <url> | --tenant <id> --resource <id>
                [--certificate <key.pem> --thumbprint <hex>])
    Sign in and cache the tokens, so later commands (and other processes) reuse and renew them.
    Saves the profile's settings (no secret) to the config file; the first becomes the default.`,
  examples: [
    "mlserver login --server https://mlserver.example.com:12800 --username admin",
    'printf %s "$PASSWORD" | mlserver login --server http://mlserver:12800 --username admin --password-stdin ' +
      "--allow-insecure-http",
    "mlserver login --device-code --tenant contoso.onmicrosoft.com --client-id <app id> --resource <web app id>",
  ],
  profile: true,
  flags: {
    "device-code": { type: "boolean" },
    "client-credentials": { type: "boolean" },
    "password-stdin": { type: "boolean" },
    "client-secret-stdin": { type: "boolean" },
  },
  async run(input) {
    const ctx = await context(input);
    if (ctx.positionals.length) throw new UsageError("login takes no arguments, only flags.");
    await guardReplacement(ctx);
    ctx.profile.auth = loginKind(ctx);
    if (ctx.profile.auth === "login" && !ctx.profile.username)
      throw new UsageError("login needs --username (or MLSERVER_USERNAME) for an ML Server account.");
    const { provider, server } = await connect(ctx, { interactive: true });
    // A fresh sign-in: what the cache held for this account is replaced, not reused.
    if (provider.signIn) await provider.signIn();
    const { expiresAt } = await provider.getAccessToken();
    await saveProfile(ctx);
    const account = accountOf(ctx.profile);
    ctx.out.result(
      {
        profile: ctx.profileName,
        server,
        auth: ctx.profile.auth,
        account,
        expiresAt: new Date(expiresAt).toISOString(),
      },
      () =>
        `Signed in to ${server} as ${account} (profile ${ctx.profileName}); the access token expires ` +
        `${when(expiresAt)} and is renewed as needed.`,
    );
    ctx.out.next("`mlserver status` checks the server; `mlserver services list` shows its web services.");
    return 0;
  },
});

/** Which kind of sign-in `login`'s flags ask for (the profile's, when no kind flag is given). */
function loginKind(ctx: Context): AuthKind {
  const { values, profile } = ctx;
  if (values["device-code"] && values["client-credentials"])
    throw new UsageError("--device-code and --client-credentials do not go together.");
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
  const { normalizeServer } = await import("./profiles.js");
  if (normalizeServer(saved) === normalizeServer(wanted)) return;
  const keep =
    `Give --profile <name> to sign in to ${wanted} under another name (or --profile ` +
    `${ctx.profileName} to replace it).`;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new UsageError(
      `Profile ${ctx.profileName} signs in to ${saved}; signing in to ${wanted} would replace it. ${keep}`,
    );
  }
  const { confirm } = await import("../credentials.js");
  if (!(await confirm(`Profile ${ctx.profileName} signs in to ${saved}. Replace it with ${wanted}? [y/N] `)))
    throw new UsageError(`Kept profile ${ctx.profileName}. ${keep}`);
}

/** Remembers the profile's settings (never a secret) and makes it the default if there is none. */
async function saveProfile(ctx: Context): Promise<void> {
  const saved: Profile = {};
  for (const field of PROFILE_FIELDS)
    if (ctx.profile[field] !== undefined) (saved as Record<string, string>)[field] = ctx.profile[field]!;
  if (ctx.profile.allowInsecureHttp) saved.allowInsecureHttp = true;
  ctx.config.profiles[ctx.profileName] = saved;
  ctx.config.defaultProfile ??= ctx.profileName;
  await writeConfig(ctx.config, ctx.configFile);
}
