#!/usr/bin/env node
import { realpathSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { pathToFileURL } from "node:url";
import { MlServerClientError } from "../errors.js";
import type { GenerationTarget } from "../codegen/generate.js";

/** Each command's help, shown by `mlserver <command> --help` and, together, by `mlserver --help`. */
const HELP = {
  generate: `mlserver generate <spec> -o <file> [--check]
    Generate types (<file>) and the security map (<file>.security.ts) from a Swagger 2.0 or
    OpenAPI 3.0/3.1 file or URL, JSON or YAML. --check writes nothing and fails if <file> is stale.
mlserver generate --server <url> --service <name>@<version> -o <file> [--check]
                  [--username <user> --password-env <VAR> | --token-env <VAR>] [--ca <pem file>]
    The same from a published web service's swagger, downloaded from the server with ML Server
    login (password read from the environment variable VAR, default MLSERVER_PASSWORD) or a token.
  Needs the optional packages openapi-typescript, typescript, swagger2openapi and yaml.`,
  "generate-all": `mlserver generate-all [--check] [--targets openapi/targets.json]
    Regenerate every target listed in the targets file; --check fails, naming each stale file, on drift.`,
  devserver: `mlserver devserver [--port 12800] [--access-token-seconds 3600] [--users '<json>']
                   [--tls-key <pem file> --tls-cert <pem file>]
    Run the ML Server dev server on 127.0.0.1 in the foreground until Ctrl+C: tokens, services
    (Python, needs python3), request validation against the API description. --users takes
    '[{"username":"alice","password":"..."}]'; the default account is admin / Admin-Pa55word!.
    With --tls-key and --tls-cert it serves HTTPS.
  Needs the optional packages ajv, ajv-formats, jose and yaml.`,
} as const;

const USAGE = `Usage: mlserver <command> [options]      (mlserver <command> --help for one command)

${Object.values(HELP).join("\n\n")}

mlserver --version    Print the version of mlserver-client.
mlserver --help       Print this help.`;

/** Where the CLI writes: stdout and stderr by default, anything with `write` in tests. */
export interface CliOutput {
  out: { write(text: string): unknown };
  err: { write(text: string): unknown };
}

/** Runs the CLI with the given arguments; resolves to the process exit code. */
export async function main(argv: readonly string[], io: CliOutput = { out: process.stdout, err: process.stderr }): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === "--version" || command === "-v") {
      io.out.write(`${await version()}\n`);
      return 0;
    }
    if (command === "--help" || command === "-h" || command === "help") {
      io.out.write(`${USAGE}\n`);
      return 0;
    }
    if (command && command in HELP && (rest.includes("--help") || rest.includes("-h"))) {
      io.out.write(`Usage:\n${HELP[command as keyof typeof HELP]}\n`);
      return 0;
    }
    if (command === "generate") return await generateCommand(rest, io.out);
    if (command === "generate-all") return await generateAllCommand(rest, io.out);
    if (command === "devserver") return await devserverCommand(rest, io.out);
    io.err.write(`${command ? `Unknown command: ${command}` : "No command given."}\n${USAGE}\n`);
    return 2;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err.write(`${error.message}\n${USAGE}\n`);
      return 2;
    }
    const label = error instanceof MlServerClientError ? `error ${error.code}` : "error";
    io.err.write(`mlserver: ${label}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

class UsageError extends Error {}

/** The package's version, from its package.json (two levels up from both src/cli and dist/src/cli). */
async function version(): Promise<string> {
  for (const up of ["../../package.json", "../../../package.json"]) {
    const text = await readFile(new URL(up, import.meta.url), "utf8").catch(() => undefined);
    if (text && (JSON.parse(text) as { name?: string }).name === "mlserver-client") return (JSON.parse(text) as { version: string }).version;
  }
  return "unknown";
}

async function devserverCommand(args: readonly string[], out: CliOutput["out"]): Promise<number> {
  const { values } = parse(args, {
    port: { type: "string", default: "12800" },
    "access-token-seconds": { type: "string", default: "3600" },
    users: { type: "string" },
    "tls-key": { type: "string" },
    "tls-cert": { type: "string" },
  });
  const port = Number(values.port);
  if ((values["tls-key"] === undefined) !== (values["tls-cert"] === undefined)) throw new UsageError("--tls-key and --tls-cert go together.");
  const tls = typeof values["tls-key"] === "string" && typeof values["tls-cert"] === "string"
    ? { key: await readFile(values["tls-key"], "utf8"), cert: await readFile(values["tls-cert"], "utf8") }
    : undefined;
  const seconds = Number(values["access-token-seconds"]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError("--port takes a port number (0 for any free port).");
  if (!(seconds > 0)) throw new UsageError("--access-token-seconds takes a positive number.");
  let users: { username: string; password: string }[] | undefined;
  if (typeof values.users === "string") {
    try {
      users = JSON.parse(values.users) as typeof users;
    } catch {
      throw new UsageError("--users takes JSON, e.g. '[{\"username\":\"alice\",\"password\":\"Alice-Pa55\"}]'.");
    }
  }
  const { startDevServer } = await import("../../devserver/index.js");
  const server = await startDevServer({ port, accessTokenSeconds: seconds, ...(users && { users }), ...(tls && { tls }) });
  out.write(`ML Server dev server listening on ${server.url} (${users ? users.map((u) => u.username).join(", ") : "user admin, password Admin-Pa55word!"}). Ctrl+C stops it.\n`);
  await new Promise<void>((resolve) => {
    const stop = () => void server.close().then(resolve);
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  return 0;
}

function parse<const O extends NonNullable<ParseArgsConfig["options"]>>(args: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true } as const);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

async function generateCommand(args: readonly string[], out: CliOutput["out"]): Promise<number> {
  const { values, positionals } = parse(args, {
    output: { type: "string", short: "o" },
    check: { type: "boolean" },
    server: { type: "string" },
    service: { type: "string" },
    username: { type: "string" },
    "password-env": { type: "string" },
    "token-env": { type: "string" },
    ca: { type: "string" },
  });
  const [spec, extra] = positionals;
  const output = values.output;
  if (typeof values.server === "string") {
    if (spec !== undefined || typeof output !== "string" || typeof values.service !== "string") throw new UsageError("generate --server takes --service <name>@<version> and -o <file>, and no spec.");
    return generateFromServer(values as Record<string, string | boolean | undefined>, output, out);
  }
  if (!spec || extra !== undefined || typeof output !== "string") throw new UsageError("generate takes one spec and -o <file>.");
  return runTargets([{ spec, output }], values.check === true, out);
}

async function generateFromServer(values: Record<string, string | boolean | undefined>, output: string, out: CliOutput["out"]): Promise<number> {
  const match = /^([^@]+)@(.+)$/.exec(String(values.service));
  if (!match) throw new UsageError("--service takes <name>@<version>, e.g. loan-score@1.0.");
  const [, name, version] = match as unknown as [string, string, string];
  const { createMlServerClient, mlServerLogin, bearer, apiError, InvalidOptionError } = await import("../index.js");
  const fromEnv = (variable: string): string => {
    const value = process.env[variable];
    if (!value) throw new InvalidOptionError(`The environment variable ${variable} is empty or not set.`);
    return value;
  };
  const auth =
    typeof values["token-env"] === "string" ? bearer(fromEnv(values["token-env"]))
    : typeof values.username === "string" ? mlServerLogin({ username: values.username, password: fromEnv(typeof values["password-env"] === "string" ? values["password-env"] : "MLSERVER_PASSWORD") })
    : undefined;
  const ca = typeof values.ca === "string" ? await readFile(values.ca, "utf8") : undefined;
  const client = createMlServerClient({ baseUrl: String(values.server), ...(auth && { auth }), ...(ca && { ca }) });
  const { data, error, response } = await client.GET("/api/{name}/{version}/swagger.json", { params: { path: { name, version } }, parseAs: "text" });
  if (!response.ok) throw apiError(`Downloading the swagger of ${name}/${version}`, response, error);
  await auth?.signOut?.();
  const { generateFromText, writeOrCheck } = await import("../codegen/generate.js");
  // Named by the service, not the URL, so that --check does not depend on the server's address.
  const files = await generateFromText(data as unknown as string, `${values.server}/api/${name}/${version}/swagger.json`, { output, label: `the swagger of web service ${name}@${version}` });
  await writeOrCheck(files, values.check === true);
  out.write(`${values.check === true ? "Up to date" : "Wrote"}: ${files.map((f) => f.path).join(", ")}\n`);
  return 0;
}

async function generateAllCommand(args: readonly string[], out: CliOutput["out"]): Promise<number> {
  const { values } = parse(args, { check: { type: "boolean" }, targets: { type: "string" } });
  const file = typeof values.targets === "string" ? values.targets : "openapi/targets.json";
  const targets = JSON.parse(await readFile(file, "utf8")) as GenerationTarget[];
  return runTargets(targets, values.check === true, out);
}

async function runTargets(targets: readonly GenerationTarget[], check: boolean, out: CliOutput["out"]): Promise<number> {
  const { generateTargets } = await import("../codegen/generate.js");
  const files = await generateTargets(targets, { check });
  out.write(`${check ? "Up to date" : "Wrote"}: ${files.map((f) => f.path).join(", ")}\n`);
  return 0;
}

// Run only as the entry point; npm's bin links are symlinks, so compare real paths.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
