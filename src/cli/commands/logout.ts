/** `mlserver logout`: revoke the session on the server, then forget the cached tokens. */
import { defineCommand } from "../command.js";
import { connect, context } from "../context.js";
import { UsageError } from "../output.js";

export const logout = defineCommand({
  name: "logout",
  summary: "Revoke the session and delete the cached tokens",
  usage: `mlserver logout [--profile <name>]
    Revoke the session on the server, then delete the cached tokens.`,
  examples: ["mlserver logout", "mlserver logout --profile staging"],
  profile: true,
  flags: {},
  async run(input) {
    const ctx = await context(input);
    if (ctx.positionals.length) throw new UsageError("logout takes no arguments, only flags.");
    const { provider, server } = await connect(ctx);
    await provider.signOut?.();
    ctx.out.result(
      { profile: ctx.profileName, server, signedOut: true },
      () =>
        `Signed out of ${server} (profile ${ctx.profileName}): the session is revoked and the cached tokens deleted.`,
    );
    return 0;
  },
});
