/**
 * Shell completion: `mlserver completion bash|zsh|fish` prints a script that asks the CLI itself
 * (`mlserver __complete <words>`) for candidates: commands, subcommands, flags, profile names, and
 * the service names `mlserver services list` last saw for the profile (no request on a Tab).
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { printable, UsageError, type CliStreams } from "./output.js";
import { AUTH_KINDS, configPath, profileName, readConfig } from "./settings.js";

const COMMANDS = ["login", "logout", "token", "status", "profiles", "services", "pools", "run", "session", "generate", "generate-all", "devserver", "completion", "help"];
const SUBCOMMANDS: Record<string, string[]> = {
  services: ["list", "get", "publish", "update", "consume", "batch", "realtime", "delete", "swagger"],
  profiles: ["list", "use", "remove"],
  pools: ["create", "status", "delete"],
  completion: ["bash", "zsh", "fish"],
  help: COMMANDS.filter((c) => c !== "help"),
};
const COMMON = ["--profile", "--json", "--quiet", "--debug", "--help", "--server", "--username", "--ca", "--allow-insecure-http"];
const FLAGS: Record<string, string[]> = {
  login: [
    ...COMMON,
    "--password-stdin",
    "--device-code",
    "--client-credentials",
    "--client-secret-stdin",
    "--authority",
    "--tenant",
    "--client-id",
    "--resource",
    "--scope",
    "--token-url",
    "--certificate",
    "--thumbprint",
  ],
  logout: COMMON,
  token: [...COMMON, "--min-valid", "--output"],
  status: COMMON,
  profiles: COMMON,
  pools: [...COMMON, "--initial", "--max"],
  run: [...COMMON, "--input-file", "--get-file", "--snapshot", "--output-dir", "--runtime"],
  session: [...COMMON, "--runtime"],
  services: [
    ...COMMON,
    "--code",
    "--init-code",
    "--inputs",
    "--outputs",
    "--description",
    "--output-files",
    "--alias",
    "--runtime",
    "--inputs-file",
    "--file",
    "--parallel",
    "--list",
    "--status",
    "--results",
    "--artifacts",
    "--index",
    "--output-dir",
    "--cancel",
    "--model",
  ],
  generate: ["--output", "--check", "--server", "--service", "--username", "--password-env", "--token-env", "--ca", "--profile"],
  "generate-all": ["--check", "--targets"],
  devserver: ["--port", "--access-token-seconds", "--users", "--tls-key", "--tls-cert", "--session-mode", "--cors-origin", "--allowed-host", "--python", "--r"],
};
/** Services whose first argument is a service name. */
const NAMED = ["get", "publish", "update", "consume", "batch", "delete", "swagger"];

const SCRIPTS: Record<string, string> = {
  bash: `# mlserver completion for bash: source <(mlserver completion bash), or save it in
# /etc/bash_completion.d/mlserver or ~/.local/share/bash-completion/completions/mlserver
_mlserver() {
  local IFS=$'\\n'
  COMPREPLY=($(compgen -W "$(mlserver __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)" -- "\${COMP_WORDS[COMP_CWORD]}"))
}
complete -o default -F _mlserver mlserver
`,
  zsh: `#compdef mlserver
# mlserver completion for zsh: mlserver completion zsh > "\${fpath[1]}/_mlserver"
_mlserver() {
  local -a candidates
  candidates=("\${(@f)$(mlserver __complete "\${words[@]:1:$((CURRENT-1))}" 2>/dev/null)}")
  if (( \${#candidates} )) && [[ -n "\${candidates[1]}" ]]; then compadd -a candidates; else _files; fi
}
compdef _mlserver mlserver
`,
  fish: `# mlserver completion for fish: mlserver completion fish > ~/.config/fish/completions/mlserver.fish
complete -c mlserver -f -a '(mlserver __complete (commandline -opc)[2..-1] (commandline -ct) 2>/dev/null)'
`,
};

export async function completionCommand(args: readonly string[], streams: CliStreams): Promise<number> {
  const [shell, extra] = args;
  if (!shell || !(shell in SCRIPTS) || extra !== undefined) throw new UsageError("completion takes one shell: bash, zsh or fish.");
  streams.out.write(SCRIPTS[shell]!);
  return 0;
}

/** Where `services list` leaves a profile's service names for completion. */
async function namesFile(profile: string): Promise<string> {
  const { defaultCacheDirectory } = await import("../stores/file-token-store.js");
  return join(defaultCacheDirectory(), `completion-services-${encodeURIComponent(profile)}.json`);
}

/** Remembers a profile's service names (no secret: names only), for completion. */
export async function rememberServiceNames(profile: string, names: string[]): Promise<void> {
  const file = await namesFile(profile);
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, JSON.stringify([...new Set(names)].sort()), { mode: 0o600 });
}

/** Candidates for the last word of `words` (the one being typed), one per line; never fails loudly. */
export async function completeCommand(words: readonly string[], streams: CliStreams): Promise<number> {
  const typed = [...words];
  const current = typed.pop() ?? "";
  const [command, ...rest] = typed;
  const config = await readConfig(configPath()).catch(() => ({ profiles: {} as Record<string, { server?: string }>, defaultProfile: undefined as string | undefined }));
  const profiles = Object.keys(config.profiles);
  const previous = typed.at(-1);
  let candidates: string[];
  if (!command) candidates = COMMANDS;
  else if (previous === "--profile") candidates = profiles;
  else if (previous === "--server") candidates = Object.values(config.profiles).flatMap((p) => (p.server ? [p.server] : []));
  else if (previous === "--auth") candidates = [...AUTH_KINDS];
  else if (previous === "--output") candidates = command === "token" ? ["token", "json", "table", "env"] : [];
  else if (current.startsWith("-")) candidates = FLAGS[command] ?? [];
  else {
    const positionals = rest.filter((w, i) => !w.startsWith("-") && !(rest[i - 1]?.startsWith("--") && takesValue(rest[i - 1]!)));
    const sub = positionals[0];
    if (SUBCOMMANDS[command] && positionals.length === 0) candidates = SUBCOMMANDS[command]!;
    else if (command === "profiles" && (sub === "use" || sub === "remove") && positionals.length === 1) candidates = profiles;
    else if ((command === "services" && sub && NAMED.includes(sub) && positionals.length === 1) || (command === "pools" && sub && positionals.length === 1)) {
      const flagged = rest[rest.indexOf("--profile") + 1];
      const profile = profileName(rest.includes("--profile") ? flagged : undefined, config);
      candidates = JSON.parse(await readFile(await namesFile(profile), "utf8").catch(() => "[]")) as string[];
    } else candidates = [];
  }
  // Names come from the server: one with a control character is never offered to the shell.
  const matching = candidates.filter((c) => c.startsWith(current) && printable(c, { singleLine: true }) === c);
  if (matching.length) streams.out.write(`${matching.join("\n")}\n`);
  return 0;
}

/** Whether a flag is followed by a value (so that value is not a positional). */
function takesValue(flag: string): boolean {
  return !["--json", "--quiet", "--debug", "--help", "--allow-insecure-http", "--password-stdin", "--client-secret-stdin", "--device-code", "--client-credentials", "--check", "--list"].includes(flag);
}
