/**
 * `mlserver profiles [list] | use <name> | remove <name>`: the saved profiles, as `az account` and `gh auth` show
 * theirs.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { TokenStore } from "../../index.js";
import { defineCommand, defineSubcommand } from "../command.js";
import { connect, context, type Context } from "../context.js";
import { accountOf } from "../credentials.js";
import { UsageError, when } from "../output.js";
import { resolveProfile, writeConfig, type Profile } from "../settings.js";

export const profiles = defineCommand({
  name: "profiles",
  summary: "List the saved profiles, pick the default, remove one",
  usage: `mlserver profiles [list]
mlserver profiles use <name>
mlserver profiles remove <name>
    List the saved profiles (server, account, signed in or not, token expiry; * marks the default),
    make one the default, or remove one (signed out on its server first).`,
  examples: ["mlserver profiles", "mlserver profiles use staging", "mlserver profiles remove old-server"],
  profile: true,
  flags: {},
  subcommands: {
    list: defineSubcommand({
      flags: {},
      async run(input) {
        const ctx = await context(input);
        if (ctx.positionals.length) throw new UsageError("profiles list takes no arguments.");
        const entries = await cacheEntries();
        const store = (await import("../runtime.js")).fileTokenStore();
        const rows: {
          name: string;
          default: boolean;
          server: string | null;
          auth: string;
          account: string;
          signedIn: boolean;
          expiresAt?: string;
        }[] = [];
        for (const [name, profile] of Object.entries(ctx.config.profiles)) {
          const session = await cachedSession(profile, entries, store);
          rows.push({
            name,
            default: name === ctx.config.defaultProfile,
            server: profile.server ?? null,
            auth: profile.auth ?? "login",
            account: accountOf(profile),
            signedIn: session.signedIn,
            ...(session.expiresAt !== undefined && { expiresAt: new Date(session.expiresAt).toISOString() }),
          });
        }
        ctx.out.result({ defaultProfile: ctx.config.defaultProfile ?? null, profiles: rows }, () =>
          rows.length === 0
            ? "No profiles yet: `mlserver login --server <url> --username <name>` saves the first."
            : ctx.out.table(
                ["", "PROFILE", "SERVER", "ACCOUNT", "SIGNED IN"],
                rows.map((r) => [
                  r.default ? "*" : "",
                  r.name,
                  r.server ?? "-",
                  `${r.account} (${r.auth})`,
                  r.signedIn ? (r.expiresAt ? `yes, token until ${when(Date.parse(r.expiresAt))}` : "yes") : "no",
                ]),
              ),
        );
        return 0;
      },
    }),
    use: defineSubcommand({
      flags: {},
      async run(input) {
        const ctx = await context(input);
        const name = named(ctx, "use");
        ctx.config.defaultProfile = name;
        await writeConfig(ctx.config, ctx.configFile);
        ctx.out.result(
          { defaultProfile: name },
          () => `Profile ${name} (${ctx.config.profiles[name]!.server}) is now the default.`,
        );
        return 0;
      },
    }),
    remove: defineSubcommand({
      flags: {},
      async run(input) {
        const ctx = await context(input);
        const name = named(ctx, "remove");
        // Signed out first: the session is revoked on the server and the cache entry deleted.
        const target: Context = {
          ...ctx,
          profileName: name,
          profile: resolveProfile({}, ctx.config.profiles[name], {}),
        };
        let revoked = true;
        try {
          const { provider } = await connect(target);
          await provider.signOut?.();
        } catch (error) {
          revoked = false;
          ctx.out.warn(
            `profile ${name} could not be signed out on the server (${(error as Error).message}); it is removed ` +
              `here anyway.`,
          );
        }
        delete ctx.config.profiles[name];
        if (ctx.config.defaultProfile === name) delete ctx.config.defaultProfile;
        await writeConfig(ctx.config, ctx.configFile);
        ctx.out.result(
          { removed: name, signedOut: revoked },
          () => `Removed profile ${name}${revoked ? " (signed out first)" : ""}.`,
        );
        return 0;
      },
    }),
  },
  defaultSubcommand: "list",
});

/** The strategy name each sign-in kind keeps its tokens under. */
const STRATEGY_OF: Record<string, string> = {
  login: "ml-server-login",
  "device-code": "aad-device-code",
  "client-credentials": "client-credentials",
  "aad-client-credentials": "aad-client-credentials",
};

interface CachedSession {
  signedIn: boolean;
  expiresAt?: number;
}

/**
 * Whether a profile has a usable cached session, read from the token cache without contacting
 * anyone: an entry of its strategy and account (and, for ML Server login, its server) holding a
 * refresh token or an access token still valid.
 */
async function cachedSession(profile: Profile, entries: CacheEntry[], store: TokenStore): Promise<CachedSession> {
  const kind = profile.auth ?? "login";
  const account = accountOf(profile);
  const server = profile.server ? normalizeServer(profile.server) : undefined;
  for (const { key } of entries) {
    if (key.strategy !== STRATEGY_OF[kind] || !(key.account === account || key.account?.startsWith(`${account} `)))
      continue;
    if (kind === "login" && (key.origin === undefined || normalizeServer(key.origin) !== server)) continue;
    const value = (await store.read(key as Parameters<TokenStore["read"]>[0])) as
      | { expiresAt?: number; refreshToken?: string }
      | undefined;
    if (!value) continue;
    const expiresAt = typeof value.expiresAt === "number" ? value.expiresAt : undefined;
    return {
      signedIn: Boolean(value.refreshToken) || (expiresAt !== undefined && expiresAt > Date.now()),
      ...(expiresAt !== undefined && { expiresAt }),
    };
  }
  return { signedIn: false };
}

/** A server URL as compared: lower-case scheme and host, default port dropped, no trailing slash. */
export function normalizeServer(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname.replace(/\/+$/, "")}`;
  } catch {
    return url.replace(/\/+$/, "");
  }
}

/** The cache's entries' keys (the key is stored in clear beside a sealed value). */
type CacheEntry = { key: { origin?: string; account?: string; strategy?: string } };

async function cacheEntries(): Promise<CacheEntry[]> {
  const { defaultCacheDirectory } = await import("../runtime.js");
  const directory = defaultCacheDirectory();
  const names = await readdir(directory).catch(() => [] as string[]);
  const entries = [];
  for (const name of names.filter((n) => n.endsWith(".json"))) {
    try {
      const entry = JSON.parse(await readFile(join(directory, name), "utf8")) as {
        key?: { origin?: string; account?: string; strategy?: string };
      };
      if (entry.key) entries.push({ key: entry.key });
    } catch {
      // Unreadable entries are the store's to report when they are used.
    }
  }
  return entries;
}

function named(ctx: Context, action: string): string {
  const [name, extra] = ctx.positionals;
  if (!name || extra !== undefined) throw new UsageError(`profiles ${action} takes one profile name.`);
  if (!ctx.config.profiles[name]) {
    const known = Object.keys(ctx.config.profiles);
    throw new UsageError(
      `There is no profile ${JSON.stringify(name)}; ` +
        `${known.length ? `the profiles are ${known.join(", ")}` : "none is saved yet (mlserver login saves one)"}.`,
    );
  }
  return name;
}
