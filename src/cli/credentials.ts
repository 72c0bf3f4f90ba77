/**
 * Secrets for the CLI (from an environment variable, standard input, or a prompt that does not
 * echo; never from a flag, which other users can read in the process list) and the provider a
 * profile signs in with, its tokens kept in the file token cache.
 */
import { readFile } from "node:fs/promises";
import type { AuthProvider, TokenSource } from "../index.js";
import { UsageError } from "./output.js";
import type { PROFILE_FIELDS, Profile } from "./settings.js";

/** Not signed in, and nothing to sign in with here: exit code 3, with what to run. */
export class SignInNeeded extends Error {
  override name = "SignInNeeded";
}

/** Reads all of standard input (for --password-stdin), without its final line break. */
export async function readStdin(stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

/** Asks on the terminal without echoing what is typed; Ctrl+C ends the process as usual. */
function promptHidden(
  question: string,
  hint: string,
  stdin: NodeJS.ReadStream = process.stdin,
  stderr: NodeJS.WriteStream = process.stderr,
): Promise<string> {
  if (!stdin.isTTY)
    return Promise.reject(new UsageError(`${question.trim()} There is no terminal to ask on: ${hint}.`));
  return new Promise((resolve, reject) => {
    let typed = "";
    stderr.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding("utf8");
    const finish = (error?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off("data", onData);
      stderr.write("\n");
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (data: string) => {
      for (const char of data) {
        if (char === "\r" || char === "\n" || char === "\u0004") return finish();
        if (char === "\u0003") {
          // Raw mode turns Ctrl-C into a character: end as the signal would have.
          finish(Object.assign(new Error("Interrupted at the prompt."), { name: "Interrupted" }));
          return;
        }
        if (char === "\u007f" || char === "\b") typed = typed.slice(0, -1);
        else if (char >= " ") typed += char;
      }
    };
    stdin.on("data", onData);
  });
}

/** A yes/no question on the terminal; anything but y or yes is no. */
export async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/** Where one secret may come from, in order: an environment variable, standard input, a prompt. */
export interface SecretSource {
  env: string;
  /** Read standard input (the --…-stdin flag was given). */
  stdin: boolean;
  /** Ask on the terminal (only `mlserver login` does). */
  prompt?: string;
  /** Said when none of them gives the secret. */
  missing: string;
}

export function secretReader(source: SecretSource, env: NodeJS.ProcessEnv = process.env): () => Promise<string> {
  let cached: Promise<string> | undefined;
  return () =>
    (cached ??= (async () => {
      const value = source.stdin
        ? await readStdin()
        : env[source.env] ||
          (source.prompt
            ? await promptHidden(
                source.prompt,
                `set ${source.env}, or pipe it to ` +
                  `--${source.env === "MLSERVER_PASSWORD" ? "password" : "client-secret"}-stdin`,
              )
            : undefined);
      if (!value) throw new SignInNeeded(source.missing);
      return value;
    })());
}

/** A provider of any kind the CLI signs in with, and what it is called in messages. */
export type CliProvider = AuthProvider & TokenSource & { signIn?(): Promise<void> };

export interface ProviderSettings {
  profile: Profile;
  profileName: string;
  store: import("../index.js").TokenStore;
  /** The password or client secret, when a sign-in needs one. */
  secret: () => Promise<string>;
  /** Whether a device-code prompt may be shown (only `mlserver login`); otherwise it is a SignInNeeded. */
  interactive: boolean;
  ca: string | undefined;
  note(text: string): void;
}

/** The account a profile signs in as, for messages and `status`. */
export function accountOf(profile: Profile): string {
  return profile.auth === "login" || profile.auth === undefined ? (profile.username ?? "?") : (profile.clientId ?? "?");
}

export async function createProvider(settings: ProviderSettings): Promise<CliProvider> {
  const { profile, store, secret, ca } = settings;
  const lib = await import("./runtime.js");
  const need = (field: (typeof PROFILE_FIELDS)[number], flag: string) => {
    const value = profile[field];
    if (!value)
      throw new UsageError(`Profile ${JSON.stringify(settings.profileName)} has no ${field}: give --${flag}.`);
    return value;
  };
  const profileFlag = settings.profileName === "default" ? "" : ` --profile ${settings.profileName}`;
  const relogin = `run \`mlserver login${profileFlag}\``;
  const scopes = () =>
    profile.scope
      ? { scopes: profile.scope.split(/[\s,]+/).filter(Boolean) }
      : { resource: need("resource", "resource") };
  const authority = () =>
    profile.authority ? { authority: profile.authority } : { tenantId: need("tenant", "tenant") };
  switch (profile.auth ?? "login") {
    case "login":
      return lib.mlServerLogin({
        storeAccount: need("username", "username"),
        store,
        credentials: async () => ({ username: profile.username!, password: await secret() }),
      });
    case "device-code": {
      const abort = new AbortController();
      return lib.aadDeviceCode({
        ...authority(),
        clientId: need("clientId", "client-id"),
        ...scopes(),
        ...(ca && { ca }),
        store,
        signal: abort.signal,
        onDeviceCode(prompt) {
          if (settings.interactive) settings.note(prompt.message);
          else
            abort.abort(
              new SignInNeeded(`The Azure AD sign-in has lapsed and needs a person: ${relogin} --device-code.`),
            );
        },
      });
    }
    case "client-credentials":
      return lib.clientCredentials({
        tokenUrl: need("tokenUrl", "token-url"),
        clientId: need("clientId", "client-id"),
        clientSecret: secret,
        ...(profile.scope && { scope: profile.scope }),
        ...(ca && { ca }),
        store,
      });
    case "aad-client-credentials": {
      const certificate = profile.certificate
        ? {
            privateKey: await readFile(profile.certificate, "utf8"),
            thumbprintSha256: need("thumbprint", "thumbprint"),
          }
        : undefined;
      return lib.aadClientCredentials({
        ...authority(),
        clientId: need("clientId", "client-id"),
        ...scopes(),
        ...(ca && { ca }),
        store,
        ...(certificate ? { certificate } : { clientSecret: secret }),
      });
    }
  }
}
