/**
 * What the completion scripts ask on Tab (`mlserver __complete <words>`): commands, subcommands
 * and flags from the commands' declarations, profile names, and the service names `mlserver
 * services list` last saw for the profile (no request on a Tab).
 */
import { flagsOf } from "./command.js";
import { COMMANDS } from "./commands/index.js";
import { printable, type CliStreams } from "./output.js";
import { rememberedServiceNames } from "./service-names.js";
import { AUTH_KINDS, configPath, profileName, readConfig } from "./settings.js";

/** The services subcommands whose first argument is a service name. */
const NAMES_SERVICES = ["get", "publish", "update", "consume", "batch", "delete", "swagger"];

/** Candidates for the last word of `words` (the one being typed), one per line; never fails loudly. */
export async function completeCommand(words: readonly string[], streams: CliStreams): Promise<number> {
  const typed = [...words];
  const current = typed.pop() ?? "";
  const [command, ...rest] = typed;
  const config = await readConfig(configPath()).catch(() => ({
    profiles: {} as Record<string, { server?: string }>,
    defaultProfile: undefined as string | undefined,
  }));
  const profiles = Object.keys(config.profiles);
  const previous = typed.at(-1);
  const declared = COMMANDS.find((c) => c.name === command);
  const flags = declared ? flagsOf(declared) : {};
  // A flag that takes a value: the word after it is that value, not an argument.
  const takesValue = (word: string) => flags[word.replace(/^--/, "")]?.type === "string";
  let candidates: string[];
  if (!command) candidates = [...COMMANDS.map((c) => c.name), "help"];
  else if (command === "help") candidates = rest.length === 0 ? COMMANDS.map((c) => c.name) : [];
  else if (previous === "--profile") candidates = profiles;
  else if (previous === "--server")
    candidates = Object.values(config.profiles).flatMap((p) => (p.server ? [p.server] : []));
  else if (previous === "--auth") candidates = [...AUTH_KINDS];
  else if (previous === "--output") candidates = command === "token" ? ["token", "json", "table", "env"] : [];
  else if (current.startsWith("-")) candidates = Object.keys(flags).map((flag) => `--${flag}`);
  else {
    const positionals = rest.filter(
      (w, i) => !w.startsWith("-") && !(rest[i - 1]?.startsWith("--") && takesValue(rest[i - 1]!)),
    );
    const sub = positionals[0];
    const subcommands = Object.keys(declared?.subcommands ?? {});
    if (subcommands.length > 0 && positionals.length === 0) candidates = subcommands;
    else if (command === "profiles" && (sub === "use" || sub === "remove") && positionals.length === 1)
      candidates = profiles;
    else if (
      (command === "services" && sub && NAMES_SERVICES.includes(sub) && positionals.length === 1) ||
      (command === "pools" && sub && positionals.length === 1)
    ) {
      const flagged = rest[rest.indexOf("--profile") + 1];
      const profile = profileName(rest.includes("--profile") ? flagged : undefined, config);
      candidates = await rememberedServiceNames(profile);
    } else candidates = [];
  }
  // Names come from the server: one with a control character is never offered to the shell.
  const matching = candidates.filter((c) => c.startsWith(current) && printable(c, { singleLine: true }) === c);
  if (matching.length) streams.out.write(`${matching.join("\n")}\n`);
  return 0;
}
