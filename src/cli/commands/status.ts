/** `mlserver status`: the server's health, who is signed in, and until when. */
import { defineCommand } from "../command.js";
import { connect, context } from "../context.js";
import { accountOf } from "../credentials.js";
import { UsageError, when } from "../output.js";

export const status = defineCommand({
  name: "status",
  summary: "The server's health, who is signed in, and when the token expires",
  usage: `mlserver status [--profile <name>] [--json]
    The server's health, who is signed in, and when the access token expires.`,
  examples: ["mlserver status", "mlserver status --profile staging --json"],
  profile: true,
  flags: {},
  async run(input) {
    const ctx = await context(input);
    if (ctx.positionals.length) throw new UsageError("status takes no arguments, only flags.");
    const { client, provider, server } = await connect(ctx);
    const account = accountOf(ctx.profile);
    const { apiError } = await import("../runtime.js");
    const { expiresAt } = await provider.getAccessToken();
    const { data, error, response } = await client.GET("/status");
    if (!response.ok) throw apiError("Reading the server's status", response, error);
    const health = data as { statusCode?: string; components?: Record<string, { statusCode?: string }> | null };
    const components = Object.entries(health.components ?? {});
    ctx.out.result(
      {
        profile: ctx.profileName,
        server,
        auth: ctx.profile.auth ?? "login",
        account,
        signedIn: true,
        expiresAt: new Date(expiresAt).toISOString(),
        health: data,
      },
      () => {
        const overall = health.statusCode ?? "unknown";
        return [
          `Server:     ${server} (profile ${ctx.profileName})`,
          `Health:     ${ctx.out.style(overall, overall === "pass" ? "green" : overall === "warn" ? "yellow" : "red")}`,
          ...components.map(([name, c]) => `  ${name}: ${c.statusCode ?? "?"}`),
          `Signed in:  ${account} (${ctx.profile.auth ?? "login"})`,
          `Token:      expires ${when(expiresAt)}`,
        ].join("\n");
      },
    );
    return 0;
  },
});
