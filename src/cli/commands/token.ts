/** `mlserver token`: a valid access token for other tools, renewed first if due. */
import { defineCommand } from "../command.js";
import { connect, context } from "../context.js";
import { UsageError, when } from "../output.js";

export const token = defineCommand({
  name: "token",
  summary: "Print a valid access token, renewed first if due",
  usage: `mlserver token [--profile <name>] [--min-valid <duration>] [--output token|json|table|env]
    Print a valid access token, renewed first if due, or if less than --min-valid (30s, 10m, 2h) is
    left: curl -H "Authorization: Bearer $(mlserver token)" ...`,
  examples: [
    'curl -H "Authorization: Bearer $(mlserver token)" https://mlserver.example.com:12800/status',
    'eval "$(mlserver token --min-valid 10m --output env)"',
  ],
  profile: true,
  flags: {
    "password-stdin": { type: "boolean" },
    "client-secret-stdin": { type: "boolean" },
    "min-valid": { type: "string" },
    output: { type: "string", short: "o" },
  },
  async run(input) {
    const ctx = await context(input);
    if (ctx.positionals.length) throw new UsageError("token takes no arguments, only flags.");
    const output = ctx.out.json ? "json" : ((ctx.values.output as string | undefined) ?? "token");
    if (!["token", "json", "table", "env"].includes(output))
      throw new UsageError(`--output is token, json, table or env, not ${JSON.stringify(output)}.`);
    const minValidityMs =
      ctx.values["min-valid"] === undefined
        ? undefined
        : parseDuration(ctx.values["min-valid"] as string, "--min-valid");
    const { provider } = await connect(ctx);
    const { accessToken, expiresAt } = await provider.getAccessToken(
      minValidityMs === undefined ? {} : { minValidityMs },
    );
    if (minValidityMs !== undefined && expiresAt - Date.now() < minValidityMs) {
      ctx.out.warn(`the server's tokens last less than --min-valid asks: this one expires ${when(expiresAt)}.`);
    }
    // The one place the CLI prints a secret: it is what this command is for.
    const iso = new Date(expiresAt).toISOString();
    if (output === "json") ctx.out.text(JSON.stringify({ accessToken, expiresAt: iso }, null, 2));
    else if (output === "env") ctx.out.text(`MLSERVER_ACCESS_TOKEN=${accessToken}\nMLSERVER_TOKEN_EXPIRES_AT=${iso}`);
    else if (output === "table")
      ctx.out.result(undefined, () => ctx.out.table(["TOKEN", "EXPIRES"], [[accessToken, when(expiresAt)]]));
    else ctx.out.text(accessToken);
    return 0;
  },
});

/** `30s`, `10m`, `2h`, `1500ms`, or plain seconds, as milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag} takes a duration such as 30s, 10m or 2h, not ${JSON.stringify(text)}.`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "ms" | "s" | "m" | "h"];
}
