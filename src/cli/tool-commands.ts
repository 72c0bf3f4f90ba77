/** `mlserver generate`, `generate-all` and `devserver`: the tools beside the client. */
import { readFile } from "node:fs/promises";
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { GenerationTarget } from "../codegen/generate.js";
import { UsageError, type CliStreams } from "./output.js";

type Out = CliStreams["out"];

export async function devserverCommand(args: readonly string[], out: Out): Promise<number> {
  const { values } = parse(args, {
    port: { type: "string", default: "12800" },
    "access-token-seconds": { type: "string", default: "3600" },
    users: { type: "string" },
    "tls-key": { type: "string" },
    "tls-cert": { type: "string" },
    "session-mode": { type: "string", default: "per-pair" },
    "cors-origin": { type: "string", multiple: true },
    "allowed-host": { type: "string", multiple: true },
    python: { type: "string" },
    r: { type: "string" },
  });
  const corsOrigins = values["cors-origin"] as string[] | undefined;
  const allowedHosts = values["allowed-host"] as string[] | undefined;
  const python = values.python as string | undefined;
  const r = values.r as string | undefined;
  const sessionMode = values["session-mode"];
  if (sessionMode !== "per-pair" && sessionMode !== "strict") throw new UsageError("--session-mode is per-pair or strict.");
  const port = Number(values.port);
  if ((values["tls-key"] === undefined) !== (values["tls-cert"] === undefined)) throw new UsageError("--tls-key and --tls-cert go together.");
  const tls =
    typeof values["tls-key"] === "string" && typeof values["tls-cert"] === "string" ? { key: await readFile(values["tls-key"], "utf8"), cert: await readFile(values["tls-cert"], "utf8") } : undefined;
  const seconds = Number(values["access-token-seconds"]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError("--port takes a port number (0 for any free port).");
  if (!(seconds > 0)) throw new UsageError("--access-token-seconds takes a positive number.");
  let users: { username: string; password: string }[] | undefined;
  if (typeof values.users === "string") {
    try {
      users = JSON.parse(values.users) as typeof users;
    } catch {
      throw new UsageError('--users takes JSON, e.g. \'[{"username":"alice","password":"Alice-Pa55"}]\'.');
    }
  }
  const { startDevServer } = await import("../../devserver/index.js");
  const server = await startDevServer({
    port,
    accessTokenSeconds: seconds,
    sessionMode,
    ...(users && { users }),
    ...(tls && { tls }),
    ...(corsOrigins && { cors: { origins: corsOrigins } }),
    ...(allowedHosts && { allowedHosts }),
    ...(python && { python }),
    ...(r && { r }),
  });
  out.write(`ML Server dev server listening on ${server.url} (${users ? users.map((u) => u.username).join(", ") : "user admin, password Admin-Pa55word!"}). Ctrl+C stops it.\n`);
  out.write(`Next: in another terminal, mlserver login --server ${server.url} --username ${users?.[0]?.username ?? "admin"}\n`);
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

export async function generateCommand(args: readonly string[], streams: CliStreams): Promise<number> {
  const out = streams.out;
  // A service's types with the profile's sign-in (cached, renewed): no credentials on this command.
  const explicitCredentials = args.some((a) => /^--(username|password-env|token-env)(=|$)/.test(a));
  if (args.includes("--service") && !explicitCredentials) return generateWithProfile(args, streams);
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

function serviceOf(value: unknown): [string, string] {
  const match = /^([^@]+)@(.+)$/.exec(String(value));
  if (!match) throw new UsageError("--service takes <name>@<version>, e.g. loan-score@1.0.");
  return [match[1]!, match[2]!];
}

async function generateWithProfile(args: readonly string[], streams: CliStreams): Promise<number> {
  const { connect, context } = await import("./context.js");
  const ctx = await context(args, { output: { type: "string", short: "o" }, check: { type: "boolean" }, service: { type: "string" } }, streams);
  const output = ctx.values.output;
  if (ctx.positionals.length || typeof output !== "string") throw new UsageError("generate --service takes <name>@<version> and -o <file>, and no spec.");
  const [name, version] = serviceOf(ctx.values.service);
  const conn = await connect(ctx);
  return writeServiceTypes(conn.client, conn.server, name, version, output, ctx.values.check === true, streams.out);
}

async function writeServiceTypes(client: import("../index.js").MlServerClient, server: string, name: string, version: string, output: string, check: boolean, out: Out): Promise<number> {
  const { apiError } = await import("../core/errors.js");
  const { data, error, response } = await client.GET("/api/{name}/{version}/swagger.json", { params: { path: { name, version } }, parseAs: "text" });
  if (!response.ok) throw apiError(`Downloading the swagger of ${name}/${version}`, response, error);
  const { generateFromText, writeOrCheck } = await import("../codegen/generate.js");
  // Named by the service, not the URL, so that --check does not depend on the server's address.
  const files = await generateFromText(data as unknown as string, `${server}/api/${name}/${version}/swagger.json`, { output, label: `the swagger of web service ${name}@${version}` });
  await writeOrCheck(files, check);
  out.write(`${check ? "Up to date" : "Wrote"}: ${files.map((f) => f.path).join(", ")}\n`);
  return 0;
}

async function generateFromServer(values: Record<string, string | boolean | undefined>, output: string, out: Out): Promise<number> {
  const [name, version] = serviceOf(values.service);
  const { createMlServerClient, mlServerLogin, bearer, InvalidOptionError } = await import("../index.js");
  const fromEnv = (variable: string): string => {
    const value = process.env[variable];
    if (!value) throw new InvalidOptionError(`The environment variable ${variable} is empty or not set.`);
    return value;
  };
  const auth =
    typeof values["token-env"] === "string"
      ? bearer(fromEnv(values["token-env"]))
      : typeof values.username === "string"
        ? mlServerLogin({ username: values.username, password: fromEnv(typeof values["password-env"] === "string" ? values["password-env"] : "MLSERVER_PASSWORD") })
        : undefined;
  const ca = typeof values.ca === "string" ? await readFile(values.ca, "utf8") : undefined;
  const client = createMlServerClient({ baseUrl: String(values.server), ...(auth && { auth }), ...(ca && { ca }) });
  try {
    return await writeServiceTypes(client, String(values.server), name, version, output, values.check === true, out);
  } finally {
    // One-off credentials: their session ends with the command.
    await auth?.signOut?.().catch(() => {});
  }
}

export async function generateAllCommand(args: readonly string[], out: Out): Promise<number> {
  const { values } = parse(args, { check: { type: "boolean" }, targets: { type: "string" } });
  const file = typeof values.targets === "string" ? values.targets : "openapi/targets.json";
  const targets = JSON.parse(await readFile(file, "utf8")) as GenerationTarget[];
  return runTargets(targets, values.check === true, out);
}

async function runTargets(targets: readonly GenerationTarget[], check: boolean, out: Out): Promise<number> {
  const { generateTargets } = await import("../codegen/generate.js");
  const files = await generateTargets(targets, { check });
  out.write(`${check ? "Up to date" : "Wrote"}: ${files.map((f) => f.path).join(", ")}\n`);
  return 0;
}
