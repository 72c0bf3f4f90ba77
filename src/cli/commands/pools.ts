/** `mlserver pools create | status | delete <name> <version>`: a service's dedicated pool of warm shells. */
import { defineCommand, defineSubcommand } from "../command.js";
import { connect, context, type Context } from "../context.js";
import { UsageError } from "../output.js";

export const pools = defineCommand({
  name: "pools",
  summary: "A service's dedicated pool of warm shells",
  usage: `mlserver pools create <name> <version> --max <shells> [--initial <shells>]
mlserver pools status <name> <version>
mlserver pools delete <name> <version>
    A service's dedicated pool of warm shells (its init code run once each): --initial start at
    once, at most --max run together; status per compute node; delete goes back to the default pool.`,
  examples: ["mlserver pools create scorer 1.0 --initial 2 --max 8", "mlserver pools status scorer 1.0 --json"],
  profile: true,
  flags: {},
  subcommands: {
    create: defineSubcommand({
      flags: { initial: { type: "string" }, max: { type: "string" } },
      async run(input) {
        const ctx = await context(input);
        const lib = await import("../runtime.js");
        const [name, version] = nameAndVersion(ctx, "create");
        const max = size(ctx.values.max, "--max");
        if (max === undefined || max < 1)
          throw new UsageError(
            "pools create needs --max <shells> (1 or more), and takes --initial <shells> (default 1, at most --max).",
          );
        const initial = size(ctx.values.initial, "--initial") ?? Math.min(1, max);
        if (initial > max) throw new UsageError(`--initial (${initial}) may not exceed --max (${max}).`);
        const answer = await lib.setServicePool((await connect(ctx)).client, {
          name,
          version,
          initialSize: initial,
          maxSize: max,
        });
        ctx.out.result(
          { name, version, initialSize: initial, maxSize: max, result: answer },
          () =>
            `${answer === "Updated" ? "Resized" : "Created"} the pool of ${name} ${version}: ${initial} ` +
            `shell(s) at once, at most ${max}.`,
        );
        return 0;
      },
    }),
    status: defineSubcommand({
      flags: {},
      async run(input) {
        const ctx = await context(input);
        const lib = await import("../runtime.js");
        const [name, version] = nameAndVersion(ctx, "status");
        const status = await lib.servicePoolStatus((await connect(ctx)).client, { name, version });
        ctx.out.result({ name, version, computeNodes: status }, () =>
          ctx.out.table(
            ["COMPUTE NODE", "POOL"],
            status.map((s) => [s.computeNode, s.status]),
          ),
        );
        return 0;
      },
    }),
    delete: defineSubcommand({
      flags: {},
      async run(input) {
        const ctx = await context(input);
        const lib = await import("../runtime.js");
        const [name, version] = nameAndVersion(ctx, "delete");
        await lib.deleteServicePool((await connect(ctx)).client, { name, version });
        ctx.out.result(
          { name, version, deleted: true },
          () => `Removed the pool of ${name} ${version}; it runs in the server's default pool again.`,
        );
        return 0;
      },
    }),
  },
});

function nameAndVersion(ctx: Context, what: string): [string, string] {
  const [name, version, extra] = ctx.positionals;
  if (!name || !version || extra !== undefined) throw new UsageError(`pools ${what} takes <name> <version>.`);
  return [name, version];
}

function size(value: string | boolean | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} takes a whole number of shells (0 or more).`);
  return n;
}
