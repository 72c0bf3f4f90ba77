#!/usr/bin/env node
/**
 * `mlserver`: sign in once, then script ML Server from a terminal or a cron job. This module loads
 * only what `--help` needs; each command loads the client (and msal-node, the generator or the dev
 * server) when it runs.
 */
import { realpathSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
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

/** Examples ending each command's own help. */
const EXAMPLES: Record<string, string[]> = {
  login: [
    "mlserver login --server https://mlserver.example.com:12800 --username admin",
    'printf %s "$PASSWORD" | mlserver login --server http://mlserver:12800 --username admin --password-stdin --allow-insecure-http',
    "mlserver login --device-code --tenant contoso.onmicrosoft.com --client-id <app id> --resource <web app id>",
  ],
  logout: ["mlserver logout", "mlserver logout --profile staging"],
  token: ['curl -H "Authorization: Bearer $(mlserver token)" https://mlserver.example.com:12800/status', 'eval "$(mlserver token --min-valid 10m --output env)"'],
  status: ["mlserver status", "mlserver status --profile staging --json"],
  profiles: ["mlserver profiles", "mlserver profiles use staging", "mlserver profiles remove old-server"],
  pools: ["mlserver pools create scorer 1.0 --initial 2 --max 8", "mlserver pools status scorer 1.0 --json"],
  session: ["mlserver session", "mlserver session --runtime R --profile prod"],
  run: ["mlserver run train.py --input-file data.csv --get-file model.pkl", 'mlserver run nightly.py --snapshot nightly --output-dir results/ || echo "failed: $?"'],
  completion: ["source <(mlserver completion bash)", 'mlserver completion zsh > "${fpath[1]}/_mlserver"', "mlserver completion fish > ~/.config/fish/completions/mlserver.fish"],
  services: [
    'mlserver services publish scorer 1.0 --code score.py --inputs \'{"x":"numeric"}\' --outputs \'{"y":"numeric"}\'',
    "mlserver services consume scorer 1.0 --inputs '{\"x\": 2}'",
    "mlserver services batch scorer 1.0 --file inputs.csv --json > results.json",
    "mlserver services batch artifacts scorer 1.0 <batch id> --output-dir results/",
    'mlserver services publish stopping 1.0 --code predict.R --inputs \'{"speed":"numeric"}\' --outputs \'{"dist":"numeric"}\'',
  ],
  generate: [
    "mlserver generate openapi/mlserver.yaml -o generated/mlserver.ts",
    "MLSERVER_PASSWORD=... mlserver generate --server https://mlserver:12800 --service scorer@1.0 --username admin -o src/scorer.ts",
  ],
  "generate-all": ["mlserver generate-all", "mlserver generate-all --check"],
  devserver: ["mlserver devserver", "mlserver devserver --port 0 --python .venv/bin/python --access-token-seconds 60"],
};

/** Each command's help, shown by `mlserver <command> --help` and, together, by `mlserver --help`. */
const HELP = {
  login: `mlserver login --server <url> --username <name> [--password-stdin] [--profile <name>]
mlserver login --device-code --authority <url> | --tenant <id> --client-id <id> --resource <id> | --scope <s>
mlserver login --client-credentials --client-id <id> [--client-secret-stdin]
               (--token-url <url> [--scope <s>] | --authority <url> | --tenant <id> --resource <id>
                [--certificate <key.pem> --thumbprint <hex>])
    Sign in and cache the tokens, so later commands (and other processes) reuse and renew them.
    Saves the profile's settings (no secret) to the config file; the first becomes the default.`,
  logout: `mlserver logout [--profile <name>]
    Revoke the session on the server, then delete the cached tokens.`,
  token: `mlserver token [--profile <name>] [--min-valid <duration>] [--output token|json|table|env]
    Print a valid access token, renewed first if due, or if less than --min-valid (30s, 10m, 2h) is
    left: curl -H "Authorization: Bearer $(mlserver token)" ...`,
  run: `mlserver run <script.py | script.R> [--input-file <file>]... [--get-file <name>]... [--snapshot <name>]
                 [--output-dir <dir>] [--runtime Python|R]
    Run a script in a fresh session on the server (mrsdeploy's remoteScript): its console output
    streams here, the files it wrote (or the --get-file ones) are fetched into --output-dir (default
    here), --snapshot keeps what it left, and the session is closed. Exits 5 when the script failed.`,
  session: `mlserver session [--runtime Python|R]
    An interactive prompt on a new session on the server (mrsdeploy's REMOTE>): each input runs there
    and its console output streams here; a block or an open bracket continues on a ... prompt. put
    <file> uploads a file, get <file> downloads one, exit (or Ctrl-D) closes the session. Ctrl-C
    cancels running code. History is kept in the cache folder. Without a terminal, it runs its input.`,
  pools: `mlserver pools create <name> <version> --max <shells> [--initial <shells>]
mlserver pools status <name> <version>
mlserver pools delete <name> <version>
    A service's dedicated pool of warm shells (its init code run once each): --initial start at
    once, at most --max run together; status per compute node; delete goes back to the default pool.`,
  completion: `mlserver completion bash|zsh|fish
    Print the shell's completion script: commands, flags, profile names, and the service names
    \`mlserver services list\` last saw. bash: source <(mlserver completion bash).`,
  profiles: `mlserver profiles [list]
mlserver profiles use <name>
mlserver profiles remove <name>
    List the saved profiles (server, account, signed in or not, token expiry; * marks the default),
    make one the default, or remove one (signed out on its server first).`,
  status: `mlserver status [--profile <name>] [--json]
    The server's health, who is signed in, and when the access token expires.`,
  services: `mlserver services list [<name>]
mlserver services get <name> <version>
mlserver services publish <name> <version> --code <file.py | file.R> [--runtime Python|R]
                  [--inputs '{"x":"numeric"}'] [--outputs '{"y":"numeric"}'] [--description <text>]
                  [--init-code <file>] [--output-files a.csv,b.png] [--alias <operation id>]
mlserver services update <name> <version> [--code <file.py>] [--init-code <file.py>] [--inputs '{...}']
                  [--outputs '{...}'] [--description <text>] [--output-files a.csv] [--alias <id>]
mlserver services consume <name> <version> [--inputs '{"x":1}' | --inputs-file <file.json>]
mlserver services batch <name> <version> --file <inputs.json | inputs.csv> [--parallel <n>]
mlserver services batch list <name> <version>
mlserver services batch status|results|cancel <name> <version> <id>
mlserver services batch artifacts <name> <version> <id> [--index <row>] [--output-dir <dir>]
mlserver services realtime publish <name> <version> --model <file> [--description <text>] [--alias <id>]
mlserver services realtime update <name> <version> [--model <file>] [--description <text>] [--alias <id>]
mlserver services delete <name> <version>
mlserver services swagger <name> <version> [-o <file>]
    Publish (Python, or R from a .R file or with --runtime R), change (only the fields given), consume
    and manage web services. A batch prints its id when it starts and
    shows its progress on stderr (a bar on a terminal, a line per 10% or 5 s otherwise, none with
    --quiet); Ctrl-C cancels it on the server, a second Ctrl-C leaves it running. status, results,
    artifacts and cancel take that id, also from another process (the flags --status <id> and so on
    do the same); list shows your batches of the service; artifacts lists the files each run wrote
    and with --output-dir saves them as <dir>/<row>/<file>. A realtime service is a serialized model
    (rxSerializeModel's bytes), uploaded as is.
    A CSV's header names the inputs (every declared input), converted by type; rows count from 1.`,
  generate: `mlserver generate <spec> -o <file> [--check]
    Generate types (<file>) and the security map (<file>.security.ts) from a Swagger 2.0 or
    OpenAPI 3.0/3.1 file or URL, JSON or YAML. --check writes nothing and fails if <file> is stale.
mlserver generate --server <url> --service <name>@<version> -o <file> [--check]
                  [--username <user> --password-env <VAR> | --token-env <VAR>] [--ca <pem file>]
    The same from a published web service's swagger, downloaded from the server with ML Server
    login (password read from the environment variable VAR, default MLSERVER_PASSWORD) or a token.
mlserver generate --service <name>@<version> -o <file> [--check] [--profile <name>]
    The same with the profile's sign-in (after mlserver login): no credentials on the command.
  Needs the optional package mlserver-client-toolchain (any TypeScript in your project, or none).`,
  "generate-all": `mlserver generate-all [--check] [--targets openapi/targets.json]
    Regenerate every target listed in the targets file; --check fails, naming each stale file, on drift.`,
  devserver: `mlserver devserver [--port 12800] [--access-token-seconds 3600] [--users '<json>']
                   [--tls-key <pem file> --tls-cert <pem file>] [--session-mode per-pair|strict]
                   [--cors-origin <origin>]... [--allowed-host <name>]... [--python <path>] [--r <Rscript>]
    Run the ML Server dev server on 127.0.0.1 in the foreground until Ctrl+C: tokens, services
    (Python and R in warm shells: --python picks the interpreter, default python3, where data.frame
    inputs need pandas, vector and matrix numpy; --r the Rscript, default Rscript, which needs
    jsonlite), request validation against the API description. It
    answers only requests addressed to 127.0.0.1, localhost or [::1] with its port, and to each
    --allowed-host name (against DNS rebinding: list a name only if you reach it that way). --users takes
    '[{"username":"alice","password":"..."}]'; the default account is admin / Admin-Pa55word!.
    With --tls-key and --tls-cert it serves HTTPS. --session-mode strict: a sign-in or renewal ends
    the user's other sessions. --cors-origin https://app.example.com (repeatable, or *) enables CORS
    for browser apps on that origin, as ML Server's CORS settings do. GET /_devserver/counters
    answers its counters (DELETE resets them).
  Needs the optional packages ajv, ajv-formats, jose and yaml.`,
} as const;

type Command = keyof typeof HELP;

const USAGE = `Usage: mlserver <command> [options]      (mlserver <command> --help for one command)

${Object.values(HELP).join("\n\n")}

mlserver --version    Print the version of mlserver-client.
mlserver --help       Print this help.

${SETTINGS}

${EXIT_CODES}`;

const COMMANDS: Record<Command, () => Promise<(args: readonly string[], streams: CliStreams) => Promise<number>>> = {
  login: async () => (await import("./session-commands.js")).loginCommand,
  logout: async () => (await import("./session-commands.js")).logoutCommand,
  token: async () => (await import("./session-commands.js")).tokenCommand,
  status: async () => (await import("./session-commands.js")).statusCommand,
  profiles: async () => (await import("./profile-commands.js")).profilesCommand,
  completion: async () => (await import("./completion.js")).completionCommand,
  pools: async () => (await import("./pool-commands.js")).poolsCommand,
  run: async () => (await import("./run-command.js")).runCommand,
  session: async () => (await import("./session-prompt.js")).sessionCommand,
  services: async () => (await import("./service-commands.js")).servicesCommand,
  generate: async () => (await import("./tool-commands.js")).generateCommand,
  "generate-all": async () => {
    const m = await import("./tool-commands.js");
    return (args, streams) => m.generateAllCommand(args, streams.out);
  },
  devserver: async () => {
    const m = await import("./tool-commands.js");
    return (args, streams) => m.devserverCommand(args, streams.out);
  },
};

/** Runs the CLI with the given arguments; resolves to the process exit code. */
export async function main(argv: readonly string[], streams: CliStreams = { out: process.stdout, err: process.stderr }): Promise<number> {
  const [command, ...rest] = argv;
  const debug = rest.includes("--debug");
  const json = rest.includes("--json");
  try {
    if (command === "--version" || command === "-v") {
      streams.out.write(`${await version()}\n`);
      return EXIT.ok;
    }
    // What the completion scripts call on Tab: candidates only, never an error message.
    if (command === "__complete") return await (await import("./completion.js")).completeCommand(rest, streams).catch(() => EXIT.ok);
    if ((command === "help" && rest[0] && rest[0] in HELP) || ((rest.includes("--help") || rest.includes("-h")) && command && command in HELP)) {
      const topic = (command === "help" ? rest[0] : command) as Command;
      const examples = EXAMPLES[topic]!.map((e) => `  ${e}`).join("\n");
      streams.out.write(
        `Usage:\n${HELP[topic]}\n\nExamples:\n${examples}\n\n${topic === "generate" || topic === "generate-all" || topic === "devserver" ? EXIT_CODES : `${SETTINGS}\n\n${EXIT_CODES}`}\n`,
      );
      return EXIT.ok;
    }
    if (command === "--help" || command === "-h" || command === "help") {
      streams.out.write(`${USAGE}\n`);
      return EXIT.ok;
    }
    if (!command || !(command in HELP)) {
      const guess = command ? closest(command, Object.keys(HELP)) : undefined;
      streams.err.write(
        `mlserver: ${command ? `unknown command ${JSON.stringify(command)}` : "no command given"}.${guess ? ` Did you mean \`mlserver ${guess}\`?` : ""} Run \`mlserver --help\` for the commands.\n`,
      );
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
      throw new UsageError(`Secrets never come from flags (other users can read a process's arguments): instead of --${name}, use ${way}.`);
    }
    if (debug) {
      const { setDebugLog } = await import("../core/log.js");
      setDebugLog((line) => streams.err.write(`debug: ${line}\n`));
    }
    return await (await COMMANDS[command as Command]())(rest, streams);
  } catch (error) {
    return report(error, command, streams, { debug, json });
  }
}

/** One line on stderr (JSON with --json), a stack trace only with --debug, and the exit code. */
async function report(error: unknown, command: string | undefined, streams: CliStreams, { debug, json }: { debug: boolean; json: boolean }): Promise<number> {
  const { MlServerClientError, ApiError } = await import("../core/errors.js");
  const { scrubKnown } = await import("../core/redact.js");
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
    scrubKnown(error instanceof Error ? error.message : String(error)) + (tls ? ` The server's certificate was not trusted (${tls}): give its CA with --ca <pem file> (or MLSERVER_CA).` : "");
  const hint = code === EXIT.usage && command ? ` Run \`mlserver ${command} --help\`.` : "";
  if (json) streams.err.write(`${JSON.stringify({ error: { code: errorCode, message, exitCode: code } })}\n`);
  // A message may quote a server's words: escaped, so that it cannot drive the terminal.
  else streams.err.write(`mlserver: ${error instanceof MlServerClientError ? `error ${error.code}: ` : ""}${printable(message)}${hint}\n`);
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
    if (typeof code === "string" && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|DEPTH_ZERO|UNABLE_TO_GET_ISSUER/.test(code)) return code;
  }
  return undefined;
}

function exitCodeOf(error: unknown, Base: typeof import("../core/errors.js").MlServerClientError, Api: typeof import("../core/errors.js").ApiError): number {
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
      return EXIT.notFound;
    case "ERR_NETWORK":
      return EXIT.network;
    case "ERR_TOKEN_ENDPOINT_UNAVAILABLE":
      // No answer at all (refused, unknown host, timed out) is unreachable; an answer was a server error.
      return (error as { status?: number }).status === undefined ? EXIT.network : EXIT.server;
    case "ERR_SERVICE_FAILED":
      return EXIT.server;
    case "ERR_UNSAFE_FILE_NAME":
      return EXIT.unsafeFile;
    default:
      if (error instanceof Api) return error.status === 401 ? EXIT.authentication : error.status === 404 ? EXIT.notFound : error.status >= 500 ? EXIT.server : EXIT.failure;
      return EXIT.failure;
  }
}

/** The package's version, from its package.json (two levels up from both src/cli and dist/src/cli). */
async function version(): Promise<string> {
  for (const up of ["../../package.json", "../../../package.json"]) {
    const text = await readFile(new URL(up, import.meta.url), "utf8").catch(() => undefined);
    if (text && (JSON.parse(text) as { name?: string }).name === "mlserver-client") return (JSON.parse(text) as { version: string }).version;
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
