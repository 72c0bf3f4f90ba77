/**
 * `mlserver completion bash|zsh|fish`: a script that asks the CLI itself (`mlserver __complete
 * <words>`) for candidates, so completion always matches the commands' declarations.
 */
import { defineCommand, defineSubcommand } from "../command.js";
import { UsageError } from "../output.js";

const SCRIPTS: Record<string, string> = {
  bash: `# mlserver completion for bash: source <(mlserver completion bash), or save it in
# /etc/bash_completion.d/mlserver or ~/.local/share/bash-completion/completions/mlserver
_mlserver() {
  local IFS=$'\\n'
  local words
  words="$(mlserver __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)"
  COMPREPLY=($(compgen -W "$words" -- "\${COMP_WORDS[COMP_CWORD]}"))
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

export const completion = defineCommand({
  name: "completion",
  summary: "Print the shell's completion script",
  usage: `mlserver completion bash|zsh|fish
    Print the shell's completion script: commands, flags, profile names, and the service names
    \`mlserver services list\` last saw. bash: source <(mlserver completion bash).`,
  examples: [
    "source <(mlserver completion bash)",
    'mlserver completion zsh > "${fpath[1]}/_mlserver"',
    "mlserver completion fish > ~/.config/fish/completions/mlserver.fish",
  ],
  profile: false,
  flags: {},
  // One subcommand per shell: each prints its script.
  subcommands: Object.fromEntries(
    Object.entries(SCRIPTS).map(([shell, script]) => [
      shell,
      defineSubcommand({
        flags: {},
        async run({ positionals, streams }) {
          if (positionals.length > 0) throw new UsageError(`completion ${shell} takes no arguments.`);
          streams.out.write(script);
          return 0;
        },
      }),
    ]),
  ),
});
