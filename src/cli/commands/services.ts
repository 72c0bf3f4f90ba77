/** `mlserver services list | get | publish | update | consume | batch | realtime | delete | swagger`. */
import { defineCommand, defineSubcommand } from "../command.js";
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { components } from "../../index.js";
import { connect, context, runtimeOf, type Connection, type Context } from "../context.js";
import { csvInputs, parseCsv } from "../csv.js";
import { EXIT, interrupts, UsageError } from "../output.js";

type WebService = components["schemas"]["WebService"];
type ParameterType = components["schemas"]["ParameterDefinition"]["type"];
const PARAMETER_TYPES: readonly string[] = [
  "numeric",
  "integer",
  "logical",
  "character",
  "vector",
  "matrix",
  "data.frame",
];

/** `services batch <action> <name> <version> [<id>]`: the actions, and whether they take an id. */
const BATCH_ACTIONS: Record<string, boolean> = {
  list: false,
  status: true,
  results: true,
  artifacts: true,
  cancel: true,
};

/** The action form (`batch status <name> <version> <id>`) as the flag form (`batch <name> <version> --status <id>`). */
function batchFlagForm(args: readonly string[]): readonly string[] {
  const [action, name, version, ...rest] = args;
  if (
    action === undefined ||
    !(action in BATCH_ACTIONS) ||
    name === undefined ||
    version === undefined ||
    name.startsWith("-") ||
    version.startsWith("-")
  )
    return args;
  if (!BATCH_ACTIONS[action]) return [name, version, `--${action}`, ...rest];
  const [id, ...flags] = rest;
  if (id === undefined || id.startsWith("-"))
    throw new UsageError(`services batch ${action} takes <name> <version> <batch id>.`);
  return [name, version, `--${action}`, id, ...flags];
}

/** The flags that set a service's fields, shared by publish and update. */
const SERVICE_FIELDS = {
  code: { type: "string" },
  inputs: { type: "string" },
  outputs: { type: "string" },
  description: { type: "string" },
  "init-code": { type: "string" },
  "output-files": { type: "string" },
  alias: { type: "string" },
} as const;

/** A file a flag names, read; a file that cannot be read names the flag and the file. */
async function readFlagFile(flag: string, path: string): Promise<string> {
  return (await readFlagBytes(flag, path)).toString("utf8");
}

/** The same as bytes (a serialized model). */
async function readFlagBytes(flag: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new UsageError(`--${flag} ${path} cannot be read (${(error as NodeJS.ErrnoException).code}).`);
  }
}

/** The service fields the flags give (only those given). */
async function serviceFields(ctx: Context<typeof SERVICE_FIELDS>) {
  const { values } = ctx;
  const inputs = parameterTypes(values.inputs, "--inputs");
  const outputs = parameterTypes(values.outputs, "--outputs");
  return {
    ...(typeof values.code === "string" && { code: await readFlagFile("code", values.code) }),
    ...(typeof values["init-code"] === "string" && { initCode: await readFlagFile("init-code", values["init-code"]) }),
    ...(inputs && { inputs }),
    ...(outputs && { outputs }),
    ...(typeof values.description === "string" && { description: values.description }),
    ...(typeof values.alias === "string" && { alias: values.alias }),
    ...(typeof values["output-files"] === "string" && {
      outputFileNames: values["output-files"]
        .split(",")
        .map((f) => f.trim())
        .filter(Boolean),
    }),
  };
}
/** The `<name> <version>` every subcommand but list takes. */
function nameAndVersion(ctx: Context, what: string): [string, string] {
  const [name, version, extra] = ctx.positionals;
  if (!name || !version || extra !== undefined) throw new UsageError(`services ${what} takes <name> <version>.`);
  return [name, version];
}

async function fail(operation: string, response: Response, error: unknown): Promise<never> {
  const { apiError } = await import("../runtime.js");
  throw apiError(operation, response, error);
}

/** The library's getService, loaded when a command needs it. */
async function getService(conn: Connection, service: { name: string; version: string }): Promise<WebService> {
  return (await import("../runtime.js")).getService(conn.client, service);
}

const typesOf = (definitions: WebService["inputParameterDefinitions"]) =>
  Object.fromEntries((definitions ?? []).map((d) => [d.name, d.type]));

export const services = defineCommand({
  name: "services",
  summary: "Publish, change, consume and manage web services",
  usage: `mlserver services list [<name>]
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
  examples: [
    'mlserver services publish scorer 1.0 --code score.py --inputs \'{"x":"numeric"}\' --outputs \'{"y":"numeric"}\'',
    "mlserver services consume scorer 1.0 --inputs '{\"x\": 2}'",
    "mlserver services batch scorer 1.0 --file inputs.csv --json > results.json",
    "mlserver services batch artifacts scorer 1.0 <batch id> --output-dir results/",
    'mlserver services publish stopping 1.0 --code predict.R --inputs \'{"speed":"numeric"}\' --outputs ' +
      '\'{"dist":"numeric"}\'',
  ],
  profile: true,
  flags: {},
  subcommands: {
    list: defineSubcommand({
      flags: {},
      async run(input) {
        const ctx = await context(input);
        const [name, extra] = ctx.positionals;
        if (extra !== undefined) throw new UsageError("services list takes at most a service name.");
        const conn = await connect(ctx);
        const { data, error, response } = name
          ? await conn.client.GET("/services/{name}", { params: { path: { name } } })
          : await conn.client.GET("/services");
        if (!response.ok) return fail(name ? `Listing the versions of ${name}` : "Listing services", response, error);
        const services = data as WebService[];
        if (!name) {
          const { rememberServiceNames } = await import("../service-names.js");
          await rememberServiceNames(
            ctx.profileName,
            services.map((s) => s.name),
          ).catch(() => {});
        }
        ctx.out.result(services, () =>
          services.length === 0
            ? "No services."
            : ctx.out.table(
                ["NAME", "VERSION", "RUNTIME", "PUBLISHED BY", "DESCRIPTION"],
                services.map((s) => [
                  s.name,
                  s.version,
                  s.runtimeType ?? "",
                  s.versionPublishedBy ?? "",
                  s.description ?? "",
                ]),
              ),
        );
        return 0;
      },
    }),
    get: defineSubcommand({
      flags: {},
      async run(input) {
        const ctx = await context(input);
        const [name, version] = nameAndVersion(ctx, "get");
        const service = await getService(await connect(ctx), { name, version });
        const params = (defs: WebService["inputParameterDefinitions"]) =>
          (defs ?? []).map((d) => `${d.name}: ${d.type}`).join(", ") || "none";
        ctx.out.result(service, () =>
          [
            ctx.out.style(`${service.name} ${service.version}`, "bold") +
              (service.description ? ` - ${service.description}` : ""),
            `Runtime:      ${service.runtimeType ?? "?"}`,
            `Published by: ${service.versionPublishedBy ?? "?"}` +
              (service.creationTime ? ` on ${service.creationTime}` : ""),
            `Inputs:       ${params(service.inputParameterDefinitions)}`,
            `Outputs:      ${params(service.outputParameterDefinitions)}`,
            ...(service.outputFileNames?.length ? [`Output files: ${service.outputFileNames.join(", ")}`] : []),
          ].join("\n"),
        );
        return 0;
      },
    }),
    publish: defineSubcommand({
      flags: { ...SERVICE_FIELDS, runtime: { type: "string" } },
      async run(input) {
        const ctx = await context(input);
        const [name, version] = nameAndVersion(ctx, "publish");
        if (typeof ctx.values.code !== "string")
          throw new UsageError("services publish needs --code <file.py | file.R>.");
        const runtimeType = runtimeOf(ctx.values.code, ctx.values.runtime);
        const fields = await serviceFields(ctx);
        const conn = await connect(ctx);
        const { publishService } = await import("../runtime.js");
        await publishService(conn.client, { name, version, runtimeType, code: fields.code!, ...fields });
        ctx.out.result({ name, version, published: true }, () => `Published ${name} ${version}.`);
        ctx.out.next(
          `\`mlserver services consume ${name} ${version} --inputs '{...}'\` runs it; \`mlserver generate ` +
            `--service ${name}@${version} -o ${name}.ts\` types it.`,
        );
        return 0;
      },
    }),
    update: defineSubcommand({
      flags: SERVICE_FIELDS,
      async run(input) {
        const ctx = await context(input);
        const [name, version] = nameAndVersion(ctx, "update");
        const fields = await serviceFields(ctx);
        if (Object.keys(fields).length === 0)
          throw new UsageError(
            "services update needs something to change: --code, --init-code, --inputs, --outputs, " +
              "--description, --output-files or --alias.",
          );
        const conn = await connect(ctx);
        const { updateService } = await import("../runtime.js");
        await updateService(conn.client, { name, version, ...fields });
        ctx.out.result(
          { name, version, updated: Object.keys(fields) },
          () => `Updated ${name} ${version}: ${Object.keys(fields).join(", ")}.`,
        );
        return 0;
      },
    }),
    consume: defineSubcommand({
      flags: { inputs: { type: "string" }, "inputs-file": { type: "string" } },
      async run(input) {
        const ctx = await context(input);
        const [name, version] = nameAndVersion(ctx, "consume");
        const inputs = await inputsOf(ctx);
        const conn = await connect(ctx);
        const result = await serviceClient(conn, name, version).then((s) => s.consume(inputs));
        const json = {
          outputs: result.outputs,
          consoleOutput: result.consoleOutput,
          changedFiles: result.changedFiles,
        };
        ctx.out.result(json, () => {
          const outputs = Object.entries(result.outputs as Record<string, unknown>);
          return [
            ...(outputs.length
              ? [
                  ctx.out.table(
                    ["OUTPUT", "VALUE"],
                    outputs.map(([k, v]) => [k, JSON.stringify(v)]),
                  ),
                ]
              : ["No outputs."]),
            ...(result.consoleOutput
              ? ["", ctx.out.style("Console output:", "dim"), result.consoleOutput.trimEnd()]
              : []),
          ].join("\n");
        });
        return 0;
      },
    }),
    batch: defineSubcommand({
      flags: {
        file: { type: "string" },
        parallel: { type: "string" },
        list: { type: "boolean" },
        status: { type: "string" },
        results: { type: "string" },
        artifacts: { type: "string" },
        index: { type: "string" },
        "output-dir": { type: "string" },
        cancel: { type: "string" },
      },
      prepare: batchFlagForm,
      async run(input) {
        const ctx = await context(input);
        const [name, version] = nameAndVersion(ctx, "batch");
        const { file, list, status, results: resultsOf, artifacts, cancel } = ctx.values;
        const modes = [file, list, status, resultsOf, artifacts, cancel].filter((v) => v !== undefined).length;
        if (modes !== 1)
          throw new UsageError(
            "services batch takes one of --file <inputs>, --list, --status <id>, --results <id>, --artifacts " +
              "<id> or --cancel <id> (or: services batch list|status|results|artifacts|cancel <name> <version> " +
              "[<id>]).",
          );
        const follow = (id: string) => `mlserver services batch status ${name} ${version} ${id}`;
        if (typeof file !== "string") {
          const service = await serviceClient(await connect(ctx), name, version);
          if (typeof artifacts === "string") return showArtifacts(ctx, service, artifacts);
          if (list) {
            const ids = await service.listBatches();
            ctx.out.result({ name, version, batches: ids }, () =>
              ids.length ? ids.join("\n") : `No batches of ${name} ${version} that you can see.`,
            );
            return 0;
          }
          if (typeof cancel === "string") {
            await service.cancelBatch(cancel);
            ctx.out.result(
              { executionId: cancel, cancelled: true },
              () => `Cancelled batch ${cancel} of ${name} ${version}.`,
            );
            return 0;
          }
          const id = (status ?? resultsOf) as string;
          const progress = await service.batchStatus(id);
          if (typeof status === "string") {
            ctx.out.result(
              { executionId: id, state: progress.state, completed: progress.completed, total: progress.total },
              () =>
                `Batch ${id} of ${name} ${version}: ${progress.state}, ${progress.completed} of ` +
                `${progress.total} runs finished.`,
            );
            return 0;
          }
          return showResults(
            ctx,
            id,
            progress.results,
            progress.state === "complete"
              ? undefined
              : `The batch is ${progress.state}: ${progress.completed} of ${progress.total} runs finished so far.`,
          );
        }
        const parallel = ctx.values.parallel === undefined ? undefined : Number(ctx.values.parallel);
        if (parallel !== undefined && !(Number.isInteger(parallel) && parallel > 0))
          throw new UsageError("--parallel takes a positive whole number.");
        const text = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
          throw new UsageError(`--file ${file} cannot be read (${error.code}).`);
        });
        const conn = await connect(ctx);
        let rows: Record<string, unknown>[];
        if (/\.csv$/i.test(file)) {
          rows = csvInputs(
            parseCsv(text),
            typesOf((await getService(conn, { name, version })).inputParameterDefinitions),
          );
        } else {
          rows = parseJson(text, file) as Record<string, unknown>[];
          if (!Array.isArray(rows) || rows.some((r) => typeof r !== "object" || r === null || Array.isArray(r)))
            throw new UsageError(`${file} must hold a JSON array of input objects.`);
        }
        const progress = ctx.out.progress(`${name} ${version}`);
        const service = await serviceClient(conn, name, version);
        let executionId: string | undefined;
        let interrupted = 0;
        interrupts.handler = () => {
          progress.end();
          if (!executionId || ++interrupted > 1) {
            ctx.out.note(
              executionId
                ? `Left batch ${executionId} running on the server; follow it with \`${follow(executionId)}\`.`
                : "Interrupted before the batch started.",
            );
            process.exit(EXIT.interrupted);
          }
          ctx.out.note(`Cancelling batch ${executionId} on the server (Ctrl-C again to leave it running)...`);
          void service
            .cancelBatch(executionId)
            .then(
              () => ctx.out.note(`Cancelled batch ${executionId}.`),
              (error: Error) =>
                ctx.out.note(
                  `The batch could not be cancelled (${error.message}); follow it with \`${follow(executionId!)}\`.`,
                ),
            )
            .finally(() => process.exit(EXIT.interrupted));
        };
        let results;
        try {
          results = await service.runBatch(rows, {
            ...(parallel && { parallelCount: parallel }),
            onStart: (id) => {
              executionId = id;
              ctx.out.note(
                `Batch ${id} started: ${rows.length} rows. If this command stops, \`${follow(id)}\` finds it again.`,
              );
            },
            onProgress: (p) => progress.update(p.completed, p.total),
          });
        } catch (error) {
          progress.end();
          // The batch goes on on the server with what it finished: say where.
          if (executionId && error instanceof Error)
            error.message +=
              ` The batch ${executionId} goes on on the server: \`mlserver services batch ` +
              `results ${name} ${version} ${executionId}\` shows what it finished.`;
          throw error;
        } finally {
          interrupts.handler = undefined;
          progress.end();
        }
        return showResults(ctx, executionId!, results);
      },
    }),
    realtime: defineSubcommand({
      flags: { model: { type: "string" }, description: { type: "string" }, alias: { type: "string" } },
      async run(input) {
        const ctx = await context(input);
        const action = ctx.positionals.shift();
        if (action !== "publish" && action !== "update")
          throw new UsageError(
            `services realtime takes publish or update${action ? `, not ${JSON.stringify(action)}` : ""}.`,
          );
        const [name, version] = nameAndVersion(ctx, `realtime ${action}`);
        const {
          model: modelFile,
          description,
          alias,
        } = ctx.values as { model?: string; description?: string; alias?: string };
        if (action === "publish" && modelFile === undefined)
          throw new UsageError("services realtime publish needs --model <serialized model file>.");
        if (action === "update" && modelFile === undefined && description === undefined && alias === undefined)
          throw new UsageError(
            "services realtime update needs something to change: --model, --description or --alias.",
          );
        const model = modelFile === undefined ? undefined : await readFlagBytes("model", modelFile);
        const conn = await connect(ctx);
        const { publishRealtimeService, updateRealtimeService } = await import("../runtime.js");
        const fields = { ...(description !== undefined && { description }), ...(alias !== undefined && { alias }) };
        if (action === "publish")
          await publishRealtimeService(conn.client, { name, version, model: model!, ...fields });
        else await updateRealtimeService(conn.client, { name, version, ...(model && { model }), ...fields });
        const done = action === "publish" ? "Published" : "Updated";
        ctx.out.result(
          {
            name,
            version,
            runtimeType: "Realtime",
            [action === "publish" ? "published" : "updated"]: true,
            ...(model && { modelBytes: model.length }),
          },
          () => `${done} the realtime service ${name} ${version}${model ? ` (a ${model.length}-byte model)` : ""}.`,
        );
        return 0;
      },
    }),
    delete: defineSubcommand({
      flags: {},
      async run(input) {
        const ctx = await context(input);
        const [name, version] = nameAndVersion(ctx, "delete");
        const conn = await connect(ctx);
        const { deleteService } = await import("../runtime.js");
        await deleteService(conn.client, { name, version });
        ctx.out.result({ name, version, deleted: true }, () => `Deleted ${name} ${version}.`);
        return 0;
      },
    }),
    swagger: defineSubcommand({
      flags: { output: { type: "string", short: "o" } },
      async run(input) {
        const ctx = await context(input);
        const [name, version] = nameAndVersion(ctx, "swagger");
        const conn = await connect(ctx);
        const { data, error, response } = await conn.client.GET("/api/{name}/{version}/swagger.json", {
          params: { path: { name, version } },
          parseAs: "text",
        });
        if (!response.ok) return fail(`Downloading the swagger of ${name}/${version}`, response, error);
        const text = data as unknown as string;
        if (typeof ctx.values.output === "string") {
          await writeFile(ctx.values.output, text);
          ctx.out.result(
            { name, version, file: ctx.values.output },
            () => `Wrote the swagger of ${name} ${version} to ${ctx.values.output}.`,
          );
        } else {
          ctx.out.text(text);
        }
        return 0;
      },
    }),
  },
});

/**
 * The files a batch's runs wrote (every row's, or `--index`'s, counted from 1), listed; with
 * `--output-dir`, downloaded to `<dir>/<row>/<file>`.
 */
async function showArtifacts(
  ctx: Context,
  service: Awaited<ReturnType<typeof serviceClient>>,
  id: string,
): Promise<number> {
  const { total } = await service.batchStatus(id);
  const index = ctx.values.index === undefined ? undefined : Number(ctx.values.index);
  if (index !== undefined && !(Number.isInteger(index) && index >= 1 && index <= total))
    throw new UsageError(`--index takes a row number from 1 to ${total}.`);
  const rows = index === undefined ? Array.from({ length: total }, (_, i) => i + 1) : [index];
  const outputDir = typeof ctx.values["output-dir"] === "string" ? resolve(ctx.values["output-dir"]) : undefined;
  const found: { row: number; file: string; savedTo?: string }[] = [];
  for (const row of rows) for (const file of await service.batchFiles(id, row - 1)) found.push({ row, file });
  if (outputDir) {
    const { checkFileName, saveServerFiles } = await import("../runtime.js");
    // Every name checked before the first download: a bad one leaves nothing written.
    for (const { file } of found) checkFileName(file);
    for (const entry of found) {
      const [savedTo] = await saveServerFiles(join(outputDir, String(entry.row)), {
        [entry.file]: await service.batchFile(id, entry.row - 1, entry.file),
      });
      entry.savedTo = savedTo!;
    }
  }
  ctx.out.result({ executionId: id, files: found }, () =>
    found.length === 0
      ? `The runs of batch ${id} wrote no files.`
      : ctx.out.table(
          outputDir ? ["ROW", "FILE", "SAVED TO"] : ["ROW", "FILE"],
          found.map((f) => [String(f.row), f.file, ...(f.savedTo ? [f.savedTo] : [])]),
        ),
  );
  return 0;
}

async function serviceClient(conn: Connection, name: string, version: string) {
  const { createServiceClient } = await import("../runtime.js");
  // The connection's client: its sign-in, trust and transport.
  return createServiceClient<{
    schemas: { InputParameters: Record<string, unknown>; OutputParameters: Record<string, unknown> };
  }>(conn.client, { name, version });
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${where} is not valid JSON.`);
  }
}

async function inputsOf(ctx: Context): Promise<Record<string, unknown>> {
  const { inputs, "inputs-file": file } = ctx.values;
  if (typeof inputs === "string" && typeof file === "string")
    throw new UsageError("Give --inputs or --inputs-file, not both.");
  const value =
    typeof inputs === "string"
      ? parseJson(inputs, "--inputs")
      : typeof file === "string"
        ? parseJson(await readFlagFile("inputs-file", file), file)
        : {};
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new UsageError("The inputs must be a JSON object, e.g. '{\"x\": 1}'.");
  return value as Record<string, unknown>;
}

/** `--inputs '{"x":"numeric"}'`: names and declared types. */
function parameterTypes(text: string | boolean | undefined, flag: string): Record<string, ParameterType> | undefined {
  if (typeof text !== "string") return undefined;
  const value = parseJson(text, flag);
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new UsageError(`${flag} takes a JSON object of names and types, e.g. '{"x": "numeric"}'.`);
  for (const [name, type] of Object.entries(value)) {
    if (typeof type !== "string" || !PARAMETER_TYPES.includes(type))
      throw new UsageError(
        `${flag}: ${name} has type ${JSON.stringify(type)}; the types are ${PARAMETER_TYPES.join(", ")}.`,
      );
  }
  return value as Record<string, ParameterType>;
}

/** A batch's results as a table (rows from 1) or JSON; exit 5 when any run failed. */
async function showResults(ctx: Context, executionId: string, results: unknown[], note?: string): Promise<number> {
  const { ServiceExecutionError } = await import("../runtime.js");
  const shaped = results.map((r) =>
    r instanceof ServiceExecutionError
      ? { success: false, errorMessage: r.message }
      : { success: true, outputs: (r as { outputs: unknown }).outputs },
  );
  const failed = shaped.filter((r) => !r.success).length;
  ctx.out.result({ executionId, total: shaped.length, failed, results: shaped }, () =>
    [
      ctx.out.table(
        ["#", "RESULT"],
        shaped.map((r, i) => [
          String(i + 1),
          r.success ? JSON.stringify(r.outputs) : ctx.out.style(`failed: ${r.errorMessage}`, "red"),
        ]),
      ),
      `${shaped.length - failed} of ${shaped.length} runs succeeded.${note ? ` ${note}` : ""}`,
    ].join("\n"),
  );
  return failed ? EXIT.server : 0;
}
