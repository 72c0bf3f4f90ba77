/**
 * The CLI's settings: named profiles (a server and how to sign in to it) in a config file under
 * the user's config directory, overridden by environment variables, overridden by flags. No secret
 * is ever written to the config file; tokens live in the token cache, secrets come from the
 * environment, standard input or a prompt.
 */
import { mkdir, readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { UsageError } from "./output.js";

/** How a profile signs in. */
export type AuthKind = "login" | "device-code" | "client-credentials" | "aad-client-credentials";
export const AUTH_KINDS: readonly AuthKind[] = ["login", "device-code", "client-credentials", "aad-client-credentials"];

/** One profile: everything the CLI needs to reach a server, except secrets. */
export interface Profile {
  server?: string;
  auth?: AuthKind;
  /** ML Server account (login). */
  username?: string;
  /** Azure AD / OIDC authority URL, or a tenant (device-code, aad-client-credentials). */
  authority?: string;
  tenant?: string;
  clientId?: string;
  /** The ML Server web app's id (becomes `<resource>/.default`), or explicit scopes. */
  resource?: string;
  scope?: string;
  /** The token endpoint (client-credentials with a generic OAuth2 server). */
  tokenUrl?: string;
  /** A PEM private key file and its SHA-256 thumbprint (aad-client-credentials with a certificate). */
  certificate?: string;
  thumbprint?: string;
  /** A PEM file of certificates to trust for the server and the authority (an absolute path once saved). */
  ca?: string;
  /** Send credentials to a plain-HTTP server that is not on loopback (ML Server's default install). */
  allowInsecureHttp?: boolean;
}

/** The text fields of a profile, each with a flag and an environment variable. */
export const PROFILE_FIELDS = [
  "server",
  "auth",
  "username",
  "authority",
  "tenant",
  "clientId",
  "resource",
  "scope",
  "tokenUrl",
  "certificate",
  "thumbprint",
  "ca",
] as const satisfies readonly (keyof Profile)[];
type TextField = (typeof PROFILE_FIELDS)[number];

/** Environment variables for each field (MLSERVER_SERVER, MLSERVER_USERNAME...). */
export const ENV_OF: Record<TextField, string> = {
  server: "MLSERVER_SERVER",
  auth: "MLSERVER_AUTH",
  username: "MLSERVER_USERNAME",
  authority: "MLSERVER_AUTHORITY",
  tenant: "MLSERVER_TENANT",
  clientId: "MLSERVER_CLIENT_ID",
  resource: "MLSERVER_RESOURCE",
  scope: "MLSERVER_SCOPE",
  tokenUrl: "MLSERVER_TOKEN_URL",
  certificate: "MLSERVER_CERTIFICATE",
  thumbprint: "MLSERVER_THUMBPRINT",
  ca: "MLSERVER_CA",
};

/** Flags for each field (--server, --client-id...). */
export const FLAG_OF = {
  server: "server",
  auth: "auth",
  username: "username",
  authority: "authority",
  tenant: "tenant",
  clientId: "client-id",
  resource: "resource",
  scope: "scope",
  tokenUrl: "token-url",
  certificate: "certificate",
  thumbprint: "thumbprint",
  ca: "ca",
} as const satisfies Record<TextField, string>;

/** The opt-in to plain HTTP: a flag, `MLSERVER_ALLOW_INSECURE_HTTP=1`, or the saved profile. */
export const INSECURE_FLAG = "allow-insecure-http";

export interface ConfigFile {
  defaultProfile?: string;
  profiles: Record<string, Profile>;
}

/** The config file: `$MLSERVER_CONFIG`, else `mlserver-client/config.json` in the platform's config directory. */
export function configPath(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.MLSERVER_CONFIG) return env.MLSERVER_CONFIG;
  const base =
    platform === "win32"
      ? (env.APPDATA ?? join(homedir(), "AppData", "Roaming"))
      : platform === "darwin"
        ? join(homedir(), "Library", "Application Support")
        : env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(base, "mlserver-client", "config.json");
}

/**
 * The config file says which server gets the password: one that another user owns or can write
 * (or whose directory they can write) could send it anywhere. Refused, as the token cache refuses
 * such entries. A world-writable directory is accepted only with the sticky bit (/tmp), where
 * others cannot replace a file they do not own.
 */
async function checkTrusted(path: string): Promise<void> {
  const uid = process.getuid?.();
  if (uid === undefined) return; // Windows: ACLs, not modes
  for (const [target, what] of [
    [path, "file"],
    [dirname(path), "directory"],
  ] as const) {
    const info = await stat(target);
    if (info.uid !== uid && info.uid !== 0) {
      throw new UsageError(
        `The config ${what} ${target} belongs to another user (uid ${info.uid}); it decides where your password ` +
          `goes, so it must be yours. Fix its owner, or point MLSERVER_CONFIG at your own file.`,
      );
    }
    const writable = what === "directory" && (info.mode & 0o1000) !== 0 ? 0 : info.mode & 0o022;
    if (writable) {
      throw new UsageError(
        `The config ${what} ${target} can be written by ${info.mode & 0o002 ? "any user" : "its group"}; it ` +
          `decides where your password goes. Run chmod go-w ${JSON.stringify(target)}.`,
      );
    }
  }
}

export async function readConfig(path = configPath()): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { profiles: {} };
    throw new UsageError(`The config file ${path} cannot be read (${(error as NodeJS.ErrnoException).code}).`);
  }
  await checkTrusted(path);
  try {
    const parsed = JSON.parse(text) as Partial<ConfigFile>;
    if (
      typeof parsed !== "object" ||
      parsed === null ||
      (parsed.profiles !== undefined && typeof parsed.profiles !== "object")
    )
      throw new Error("shape");
    return {
      ...(typeof parsed.defaultProfile === "string" && { defaultProfile: parsed.defaultProfile }),
      profiles: parsed.profiles ?? {},
    };
  } catch {
    throw new UsageError(
      `The config file ${path} is not valid JSON of the form {"profiles": {"name": {...}}}; fix or delete it.`,
    );
  }
}

/** Writes the config file atomically (0600, like the token cache, though it holds no secret). */
export async function writeConfig(config: ConfigFile, path = configPath()): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const { writePrivateFile } = await import("./runtime.js");
  await writePrivateFile(path, `${JSON.stringify(config, null, 2)}\n`);
}

/** The profile's name: --profile, else $MLSERVER_PROFILE, else the config's default, else `default`. */
export function profileName(
  flag: string | undefined,
  config: ConfigFile,
  env: NodeJS.ProcessEnv = process.env,
): string {
  return flag ?? env.MLSERVER_PROFILE ?? config.defaultProfile ?? "default";
}

/** Flags, then environment variables, then the config file's profile. */
export function resolveProfile(
  flags: Partial<Record<string, unknown>>,
  stored: Profile | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Profile {
  const profile: Profile = {};
  for (const field of PROFILE_FIELDS) {
    const flag = flags[FLAG_OF[field]];
    const value = typeof flag === "string" ? flag : env[ENV_OF[field]] || stored?.[field];
    if (value !== undefined && value !== "") (profile as Record<string, string>)[field] = value;
  }
  if (flags[INSECURE_FLAG] === true || env.MLSERVER_ALLOW_INSECURE_HTTP === "1" || stored?.allowInsecureHttp === true)
    profile.allowInsecureHttp = true;
  if (profile.auth !== undefined && !AUTH_KINDS.includes(profile.auth)) {
    throw new UsageError(
      `Unknown sign-in kind ${JSON.stringify(profile.auth)}; it is one of ${AUTH_KINDS.join(", ")}.`,
    );
  }
  return profile;
}
