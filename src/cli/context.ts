/**
 * What every server command shares: the profile its flags select
 * (flags, then environment, then config file), the output, and a client for the profile's server
 * with its provider and token cache.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { MlServerClient } from "../index.js";
import { createProvider, secretReader, type CliProvider, type SecretSource } from "./credentials.js";
import type { Flags, Input, ProfileFlags, Values } from "./command.js";
import { Output, UsageError } from "./output.js";
import {
  configPath,
  INSECURE_FLAG,
  profileName,
  readConfig,
  resolveProfile,
  type ConfigFile,
  type Profile,
} from "./settings.js";

export interface Context<F extends Flags = Flags> {
  out: Output;
  values: Values<F & ProfileFlags>;
  positionals: string[];
  config: ConfigFile;
  configFile: string;
  profileName: string;
  profile: Profile;
  env: NodeJS.ProcessEnv;
}

/** The profile a command's flags select (flags, then environment, then config file), and its output. */
export async function context<F extends Flags>(
  input: Input<F & ProfileFlags>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Context<F>> {
  const { values, positionals, streams } = input;
  const configFile = configPath(env);
  const config = await readConfig(configFile);
  const name = profileName(values.profile as string | undefined, config, env);
  const profile = resolveProfile(values, config.profiles[name], env);
  // Saved as absolute paths: cron and later commands run from other directories.
  for (const field of ["ca", "certificate"] as const) if (profile[field]) profile[field] = resolve(profile[field]);
  return {
    out: new Output(streams, { json: values.json === true, quiet: values.quiet === true, env }),
    values,
    positionals,
    config,
    configFile,
    profileName: name,
    profile,
    env,
  };
}

export interface Connection {
  client: MlServerClient;
  provider: CliProvider;
  server: string;
  ca: string | undefined;
}

/** The secret a profile's sign-in needs: the password (login) or the client secret. */
function secretSourceOf(ctx: Context, interactive: boolean): SecretSource {
  const relogin = `run \`mlserver login${ctx.profileName === "default" ? "" : ` --profile ${ctx.profileName}`}\``;
  if ((ctx.profile.auth ?? "login") === "login") {
    return {
      env: "MLSERVER_PASSWORD",
      stdin: ctx.values["password-stdin"] === true,
      ...(interactive && { prompt: `Password for ${ctx.profile.username ?? "?"} at ${ctx.profile.server ?? "?"}: ` }),
      missing:
        `Not signed in to ${ctx.profile.server} as ${ctx.profile.username} (no cached session, or it ` +
        `ended): ${relogin}, or set MLSERVER_PASSWORD.`,
    };
  }
  return {
    env: "MLSERVER_CLIENT_SECRET",
    stdin: ctx.values["client-secret-stdin"] === true,
    ...(interactive && { prompt: `Client secret for ${ctx.profile.clientId ?? "?"}: ` }),
    missing:
      `A client secret is needed to get a token for ${ctx.profile.clientId}: set MLSERVER_CLIENT_SECRET ` +
      `(or ${relogin} --client-secret-stdin).`,
  };
}

/** A client for the profile's server, signed in through the token cache. */
export async function connect(
  ctx: Context,
  { interactive = false }: { interactive?: boolean } = {},
): Promise<Connection> {
  const server = ctx.profile.server;
  if (!server)
    throw new UsageError(
      `No server for profile ${JSON.stringify(ctx.profileName)}: give --server <url> (or set MLSERVER_SERVER), ` +
        `e.g. with \`mlserver login --server https://mlserver.example.com:12800 --username admin\`.`,
    );
  const ca = ctx.profile.ca ? await readCa(ctx.profile.ca) : undefined;
  await checkTransport(ctx, server);
  const lib = await import("./runtime.js");
  const store = lib.fileTokenStore();
  const provider = await createProvider({
    profile: ctx.profile,
    profileName: ctx.profileName,
    store,
    secret: secretReader(secretSourceOf(ctx, interactive), ctx.env),
    interactive,
    ca,
    note: (text) => ctx.out.note(text),
  });
  const client = lib.createMlServerClient({
    baseUrl: server,
    auth: provider,
    ...(ca && { ca }),
    ...(ctx.profile.allowInsecureHttp && { allowInsecureHttp: true }),
  });
  return { client, provider, server, ca };
}

/** The --ca file's certificates; a file that is missing or holds none is a usage error naming it. */
async function readCa(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new UsageError(
      `--ca (or MLSERVER_CA) names ${path}, which cannot be read (${(error as NodeJS.ErrnoException).code}).`,
    );
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----"))
    throw new UsageError(
      `--ca (or MLSERVER_CA) names ${path}, which holds no PEM certificate (-----BEGIN CERTIFICATE-----).`,
    );
  return text;
}

/**
 * Plain HTTP beyond loopback only when asked for (ML Server's default install serves
 * http://host:12800), and then with a warning on each run that sends credentials.
 */
async function checkTransport(ctx: Context, server: string): Promise<void> {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new UsageError(
      `--server ${JSON.stringify(server)} is not a URL; give e.g. https://mlserver.example.com:12800.`,
    );
  }
  const { isLoopback } = await import("./runtime.js");
  if (url.protocol !== "http:" || isLoopback(url.hostname)) return;
  if (!ctx.profile.allowInsecureHttp) {
    throw new UsageError(
      `${url.origin} is plain HTTP: the password and tokens would cross the network readable by anyone on the ` +
        `path. Use https:// or, on a network you trust, --${INSECURE_FLAG} (or MLSERVER_ALLOW_INSECURE_HTTP=1), ` +
        `which the profile remembers.`,
    );
  }
  ctx.out.warn(
    `sending credentials to ${url.origin} over plain HTTP (--${INSECURE_FLAG}): anyone on the network path can ` +
      `read and replay them.`,
  );
}

/**
 * The language of a code file: `--runtime` when given (Python or R), otherwise from the file's
 * extension (`.R` is R, anything else Python), as ML Server's tools name them.
 */
export function runtimeOf(file: string, flag: unknown): "Python" | "R" {
  const runtime = flag ?? (/\.r$/i.test(file) ? "R" : "Python");
  if (runtime !== "Python" && runtime !== "R")
    throw new UsageError(`--runtime is Python or R, not ${JSON.stringify(runtime)}.`);
  return runtime;
}
