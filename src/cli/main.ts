#!/usr/bin/env node
/**
 * `mlserver`: sign in once, then script ML Server from a terminal or a cron job. This module loads
 * only what `--help` needs; each command loads the client (and msal-node, the generator or the dev
 * server) when it runs.
 */
import { realpathSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { runCommand, type Command } from "./command.js";
import { COMMANDS } from "./commands/index.js";
import { closest, EXIT, interrupts, printable, UsageError, type CliStreams } from "./output.js";

const SETTINGS = `Settings, in order of precedence: flags, then environment variables, then the profile in the
config file (${"$"}MLSERVER_CONFIG, else mlserver-client/config.json in the user's config directory).
  --profile <name>      MLSERVER_PROFILE   which profile (default: the config's default, else "default")
  --server <url>        MLSERVER_SERVER    the ML Server web node, e.g. https://mlserver.example.com:12800
  --username <name>     MLSERVER_USERNAME  ML Server account (local or LDAP)
  --authority <url> | --tenant <id>        Azure AD / OIDC authority (MLSERVER_AUTHORITY, MLSERVER_TENANT)
  --client-id <id>      MLSERVER_CLIENT_ID  the app registration (device code, client credentials)
  --resource <id> | --scope <scopes>       what to ask a token for (MLSERVER_RESOURCE, MLSERVER_SCOPE)
  --token-url <url>     MLSERVER_TOKEN_URL  a generic OAuth2 token endpoint (client credentials)
  --certificate <pem> --thumbprint <hex>   an Azure AD certificate credential instead of a secret
  --ca <pem file>       MLSERVER_CA        certificates to trust for the server and the authority
  --allow-insecure-http MLSERVER_ALLOW_INSECURE_HTTP=1  send credentials to a plain-HTTP server beyond
                        loopback (ML Server's default install); warns on each run, remembered by login
Secrets never come from flags: MLSERVER_PASSWORD or MLSERVER_CLIENT_SECRET, --password-stdin /
--client-secret-stdin, or a prompt that does not echo (login only).
Tokens are cached in ${"$"}MLSERVER_CACHE_DIR, else mlserver-client under the user's cache directory
(0600 files in a 0700 directory); set MLSERVER_TOKEN_CACHE_KEY (32 bytes, base64) to encrypt them.
Every command takes --json (a stable JSON result on stdout), --quiet (-q: no progress, no warnings)
and --debug (stack traces, debug log).`;

const EXIT_CODES = `Exit codes: 0 success, 1 other failure, 2 usage error, 3 authentication failure (not signed in,
wrong credentials, session ended, not allowed), 4 not found, 5 server error (5xx, or a service's code
failed), 6 server or authority unreachable (refused, unknown host, timed out, certificate not trusted),
7 the server named a file that is not a plain file name (nothing written), 130 interrupted (Ctrl-C).`;

const USAGE = `Usage: mlserver <command> [options]      (mlserver <command> --help for one command)

${COMMANDS.map((c) => c.usage).join("\n\n")}

mlserver --version    Print the version of mlserver-client.
mlserver --help       Print this help.

${SETTINGS}

${EXIT_CODES}`;

/** One command's help: its usage, its examples, and the settings when it works with a profile. */
function helpOf(command: Command): string {
  const examples = command.examples.map((e) => `  ${e}`).join("\n");
  const settings = command.profile ? `${SETTINGS}\n\n` : "";
  return `Usage:\n${command.usage}\n\nExamples:\n${examples}\n\n${settings}${EXIT_CODES}\n`;
}

/** Runs the CLI with the given arguments; resolves to the process exit code. */
export async function main(
  argv: readonly string[],
  streams: CliStreams = { out: process.stdout, err: process.stderr },
): Promise<number> {
  const [command, ...rest] = argv;
  const debug = rest.includes("--debug");
  const json = rest.includes("--json");
  try {
    if (command === "--version" || command === "-v") {
      streams.out.write(`${await version()}\n`);
      return EXIT.ok;
    }
    // What the completion scripts call on Tab: candidates only, never an error message.
    if (command === "__complete")
      return await (await import("./completion.js")).completeCommand(rest, streams).catch(() => EXIT.ok);
    const topic = COMMANDS.find((c) => c.name === (command === "help" ? rest[0] : command));
    if (topic && (command === "help" || rest.includes("--help") || rest.includes("-h"))) {
      streams.out.write(helpOf(topic));
      return EXIT.ok;
    }
    if (command === "--help" || command === "-h" || command === "help") {
      streams.out.write(`${USAGE}\n`);
      return EXIT.ok;
    }
    const declared = COMMANDS.find((c) => c.name === command);
    if (!declared) {
      const guess = command
        ? closest(
            command,
            COMMANDS.map((c) => c.name),
          )
        : undefined;
      const what = command ? `unknown command ${JSON.stringify(command)}` : "no command given";
      const hint = guess ? ` Did you mean \`mlserver ${guess}\`?` : "";
      streams.err.write(`mlserver: ${what}.${hint} Run \`mlserver --help\` for the commands.\n`);
      return EXIT.usage;
    }
    // A secret on the command line is readable by every user of the machine (ps): refused, never echoed.
    const secretFlag = rest.find((a) => /^--(password|client-secret|secret|token)(=|$)/.test(a));
    if (secretFlag) {
      const name = secretFlag.slice(2).split("=")[0]!;
      const way =
        name === "password"
          ? "--password-stdin or MLSERVER_PASSWORD"
          : name === "client-secret" || name === "secret"
            ? "--client-secret-stdin or MLSERVER_CLIENT_SECRET"
            : "the token cache (mlserver login)";
      throw new UsageError(
        `Secrets never come from flags (other users can read a process's arguments): instead of --${name}, use ${way}.`,
      );
    }
    if (debug) {
      const { setDebugLog } = await import("./runtime.js");
      setDebugLog((line) => streams.err.write(`debug: ${line}\n`));
    }
    return await runCommand(declared, rest, streams);
  } catch (error) {
    return report(error, command, streams, { debug, json });
  }
}

/** One line on stderr (JSON with --json), a stack trace only with --debug, and the exit code. */
async function report(
  error: unknown,
  command: string | undefined,
  streams: CliStreams,
  { debug, json }: { debug: boolean; json: boolean },
): Promise<number> {
  const { MlServerClientError, ApiError } = await import("./runtime.js");
  const { scrubKnown } = await import("./runtime.js");
  const code = exitCodeOf(error, MlServerClientError, ApiError);
  const errorCode =
    error instanceof MlServerClientError
      ? error.code
      : error instanceof UsageError
        ? "ERR_USAGE"
        : (error as { name?: string }).name === "SignInNeeded"
          ? "ERR_NOT_SIGNED_IN"
          : (error as { name?: string }).name === "Interrupted"
            ? "ERR_INTERRUPTED"
            : "ERR_UNEXPECTED";
  // Errors of the library are scrubbed already; anything else (Node's own) is scrubbed here.
  const tls = tlsFailure(error);
  const message =
    scrubKnown(error instanceof Error ? error.message : String(error)) +
    (tls
      ? ` The server's certificate was not trusted (${tls}): give its CA with --ca <pem file> (or MLSERVER_CA).`
      : "");
  const hint = code === EXIT.usage && command ? ` Run \`mlserver ${command} --help\`.` : "";
  if (json) streams.err.write(`${JSON.stringify({ error: { code: errorCode, message, exitCode: code } })}\n`);
  // A message may quote a server's words: escaped, so that it cannot drive the terminal.
  else
    streams.err.write(
      `mlserver: ${error instanceof MlServerClientError ? `error ${error.code}: ` : ""}${printable(message)}${hint}\n`,
    );
  if (debug && error instanceof Error) {
    const { inspect } = await import("node:util");
    streams.err.write(`${scrubKnown(inspect(error))}\n`);
  }
  return code;
}

/** The TLS verification code somewhere in an error's causes (an untrusted or self-signed certificate), if any. */
function tlsFailure(error: unknown): string | undefined {
  for (let e = error, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|DEPTH_ZERO|UNABLE_TO_GET_ISSUER/.test(code))
      return code;
  }
  return undefined;
}

function exitCodeOf(
  error: unknown,
  Base: typeof import("../core/errors.js").MlServerClientError,
  Api: typeof import("../core/errors.js").ApiError,
): number {
  if (error instanceof UsageError) return EXIT.usage;
  if ((error as { name?: string }).name === "Interrupted") return EXIT.interrupted;
  if (tlsFailure(error)) return EXIT.network;
  if ((error as { name?: string }).name === "SignInNeeded") return EXIT.authentication;
  if (!(error instanceof Base)) return (error as NodeJS.ErrnoException).code === "ENOENT" ? EXIT.usage : EXIT.failure;
  switch (error.code) {
    case "ERR_INVALID_OPTION":
    case "ERR_INSECURE_TRANSPORT":
      return EXIT.usage;
    case "ERR_AUTHENTICATION_FAILED":
    case "ERR_TOKEN_REFRESH_FAILED":
    case "ERR_SIGNED_OUT":
    case "ERR_DEVICE_CODE_EXPIRED":
    case "ERR_AUTHORIZATION_DECLINED":
    case "ERR_FORBIDDEN":
    case "ERR_NO_CREDENTIALS":
      return EXIT.authentication;
    case "ERR_NOT_FOUND":
    case "ERR_BATCH_CANCELLED":
      return EXIT.notFound;
    case "ERR_NETWORK":
      return EXIT.network;
    case "ERR_TOKEN_ENDPOINT_UNAVAILABLE":
      // No answer at all (refused, unknown host, timed out) is unreachable; an answer was a server error.
      return (error as { status?: number }).status === undefined ? EXIT.network : EXIT.server;
    case "ERR_SERVICE_FAILED":
    case "ERR_REMOTE_EXECUTION_FAILED":
      return EXIT.server;
    case "ERR_UNSAFE_FILE_NAME":
      return EXIT.unsafeFile;
    default:
      if (error instanceof Api)
        return error.status === 401
          ? EXIT.authentication
          : error.status === 404
            ? EXIT.notFound
            : error.status >= 500
              ? EXIT.server
              : EXIT.failure;
      return EXIT.failure;
  }
}

/** The package's version, from its package.json (up from src/cli, dist/src/cli or dist/bundle/src/cli). */
async function version(): Promise<string> {
  for (const up of ["../../package.json", "../../../package.json", "../../../../package.json"]) {
    const text = await readFile(new URL(up, import.meta.url), "utf8").catch(() => undefined);
    if (text && (JSON.parse(text) as { name?: string }).name === "mlserver-client")
      return (JSON.parse(text) as { version: string }).version;
  }
  return "unknown";
}

// Run only as the entry point; npm's bin links are symlinks, so compare real paths.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  // Warnings (a corrupt cache entry, a store that is down) as one line each, in the CLI's voice.
  process.removeAllListeners("warning");
  process.on("warning", (warning) => process.stderr.write(`mlserver: warning: ${warning.message}\n`));
  // Ctrl-C ends a command with 130, as shells expect (the dev server closes itself first).
  if (process.argv[2] !== "devserver") {
    process.on("SIGINT", () => {
      if (interrupts.handler) return interrupts.handler();
      process.stderr.write("\nmlserver: interrupted.\n");
      process.exit(EXIT.interrupted);
    });
  }
  process.exitCode = await main(process.argv.slice(2));
}
