/** `mlserver generate`: types and a security map from a spec, a file, a URL or a published service. */
import { readFile } from "node:fs/promises";
import type { GenerationTarget } from "../../codegen/generate.js";
import { defineCommand, type Input, type ProfileFlags } from "../command.js";
import { UsageError, type CliStreams } from "../output.js";

type Out = CliStreams["out"];

const FLAGS = {
  output: { type: "string", short: "o" },
  check: { type: "boolean" },
  "keep-optional": { type: "boolean" },
  service: { type: "string" },
  "password-env": { type: "string" },
  "token-env": { type: "string" },
} as const;
type GenerateInput = Input<typeof FLAGS & ProfileFlags>;

export const generate = defineCommand({
  name: "generate",
  summary: "Generate types from a spec or a published service's swagger",
  usage: `mlserver generate <spec> -o <file> [--check]
    Generate types (<file>) and the security map (<file>.security.ts) from a Swagger 2.0 or
    OpenAPI 3.0/3.1 file or URL, JSON or YAML. --check writes nothing and fails if <file> is stale.
    A published service's swagger declares no required inputs; its types mark every input required
    and every output of a successful run present (as ML Server runs them); --keep-optional doesn't.
mlserver generate --server <url> --service <name>@<version> -o <file> [--check]
                  [--username <user> --password-env <VAR> | --token-env <VAR>] [--ca <pem file>]
    The same from a published web service's swagger, downloaded from the server with ML Server
    login (password read from the environment variable VAR, default MLSERVER_PASSWORD) or a token.
mlserver generate --service <name>@<version> -o <file> [--check] [--profile <name>]
    The same with the profile's sign-in (after mlserver login): no credentials on the command.
  Needs the optional package mlserver-client-toolchain (any TypeScript in your project, or none).`,
  examples: [
    "mlserver generate openapi/mlserver.yaml -o generated/mlserver.ts",
    "MLSERVER_PASSWORD=... mlserver generate --server https://mlserver:12800 --service scorer@1.0 --username " +
      "admin -o src/scorer.ts",
  ],
  // --server, --username and --ca are the profile's flags; with --service and no credentials, the profile signs in.
  profile: true,
  flags: FLAGS,
  async run(input) {
    const { values, positionals } = input;
    // A service's types with the profile's sign-in (cached, renewed): no credentials on this command.
    const explicitCredentials =
      values.username !== undefined || values["password-env"] !== undefined || values["token-env"] !== undefined;
    if (values.service !== undefined && !explicitCredentials) return generateWithProfile(input);
    const [spec, extra] = positionals;
    const output = values.output;
    if (values.server !== undefined) {
      if (spec !== undefined || output === undefined || values.service === undefined)
        throw new UsageError("generate --server takes --service <name>@<version> and -o <file>, and no spec.");
      return generateFromServer(input, output);
    }
    if (!spec || extra !== undefined || output === undefined)
      throw new UsageError("generate takes one spec and -o <file>.");
    return runTargets(
      [{ spec, output, keepOptional: values["keep-optional"] === true }],
      values.check === true,
      input.streams.out,
    );
  },
});

function serviceOf(value: unknown): [string, string] {
  const match = /^([^@]+)@(.+)$/.exec(String(value));
  if (!match) throw new UsageError("--service takes <name>@<version>, e.g. loan-score@1.0.");
  return [match[1]!, match[2]!];
}

async function generateWithProfile(input: GenerateInput): Promise<number> {
  const { connect, context } = await import("../context.js");
  const ctx = await context(input);
  const output = ctx.values.output;
  if (ctx.positionals.length || typeof output !== "string")
    throw new UsageError("generate --service takes <name>@<version> and -o <file>, and no spec.");
  const [name, version] = serviceOf(ctx.values.service);
  const conn = await connect(ctx);
  const mode = { check: ctx.values.check === true, keepOptional: ctx.values["keep-optional"] === true };
  return writeServiceTypes(conn.client, conn.server, name, version, output, mode, input.streams.out);
}

type Mode = { check: boolean; keepOptional: boolean };

async function writeServiceTypes(
  client: import("../../index.js").MlServerClient,
  server: string,
  name: string,
  version: string,
  output: string,
  mode: Mode,
  out: Out,
): Promise<number> {
  const { check, keepOptional } = mode;
  const { apiError } = await import("../runtime.js");
  const { data, error, response } = await client.GET("/api/{name}/{version}/swagger.json", {
    params: { path: { name, version } },
    parseAs: "text",
  });
  if (!response.ok) throw apiError(`Downloading the swagger of ${name}/${version}`, response, error);
  const { generateFromText, writeOrCheck } = await import("../../codegen/generate.js");
  // Named by the service, not the URL, so that --check does not depend on the server's address.
  const files = await generateFromText(data as unknown as string, `${server}/api/${name}/${version}/swagger.json`, {
    output,
    label: `the swagger of web service ${name}@${version}`,
    ...(keepOptional && { keepOptional }),
  });
  await writeOrCheck(files, check);
  out.write(`${check ? "Up to date" : "Wrote"}: ${files.map((f) => f.path).join(", ")}\n`);
  return 0;
}

async function generateFromServer({ values, streams }: GenerateInput, output: string): Promise<number> {
  const [name, version] = serviceOf(values.service);
  const { createMlServerClient, mlServerLogin, bearer, InvalidOptionError } = await import("../runtime.js");
  const fromEnv = (variable: string): string => {
    const value = process.env[variable];
    if (!value) throw new InvalidOptionError(`The environment variable ${variable} is empty or not set.`);
    return value;
  };
  const auth =
    typeof values["token-env"] === "string"
      ? bearer(fromEnv(values["token-env"]))
      : typeof values.username === "string"
        ? mlServerLogin({
            username: values.username,
            password: fromEnv(
              typeof values["password-env"] === "string" ? values["password-env"] : "MLSERVER_PASSWORD",
            ),
          })
        : undefined;
  const ca = typeof values.ca === "string" ? await readFile(values.ca, "utf8") : undefined;
  const client = createMlServerClient({ baseUrl: String(values.server), ...(auth && { auth }), ...(ca && { ca }) });
  try {
    const mode = { check: values.check === true, keepOptional: values["keep-optional"] === true };
    return await writeServiceTypes(client, String(values.server), name, version, output, mode, streams.out);
  } finally {
    // One-off credentials: their session ends with the command.
    await auth?.signOut?.().catch(() => {});
  }
}

export async function runTargets(targets: readonly GenerationTarget[], check: boolean, out: Out): Promise<number> {
  const { generateTargets } = await import("../../codegen/generate.js");
  const files = await generateTargets(targets, { check });
  out.write(`${check ? "Up to date" : "Wrote"}: ${files.map((f) => f.path).join(", ")}\n`);
  return 0;
}
