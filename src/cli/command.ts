/**
 * What a command is: one declaration (usage, summary, examples, flags, subcommands, and what it
 * runs), from which `mlserver --help`, `mlserver <command> --help`, completion, did-you-mean and
 * the parsing of its flags all come. Adding a command is a file in commands/ and a line in the list
 * there.
 */
import { parseArgs } from "node:util";
import { closest, UsageError, type CliStreams } from "./output.js";
import { FLAG_OF, INSECURE_FLAG, PROFILE_FIELDS } from "./settings.js";

export interface Flag {
  readonly type: "string" | "boolean";
  readonly default?: string;
  readonly short?: string;
  readonly multiple?: boolean;
}
export type Flags = Readonly<Record<string, Flag>>;

type Many<F extends Flag, T> = F extends { multiple: true } ? T[] : T;
type ValueOf<F extends Flag> = F extends { type: "boolean" }
  ? Many<F, boolean>
  : F extends { type: "string" }
    ? Many<F, string>
    : string | boolean | string[] | boolean[];
/** The values parsed for `F`, each typed by its flag. */
export type Values<F extends Flags> = { -readonly [K in keyof F]?: ValueOf<F[K]> };

/** The flags of every command that works with a profile: which one, the output, and its settings. */
export const PROFILE_FLAGS = {
  profile: { type: "string" },
  json: { type: "boolean" },
  debug: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  help: { type: "boolean", short: "h" },
  [INSECURE_FLAG]: { type: "boolean" },
  ...(Object.fromEntries(PROFILE_FIELDS.map((field) => [FLAG_OF[field], { type: "string" }])) as {
    [K in (typeof FLAG_OF)[keyof typeof FLAG_OF]]: { type: "string" };
  }),
} as const satisfies Flags;
export type ProfileFlags = typeof PROFILE_FLAGS;

/** Flags every command takes, with or without a profile. */
const BASIC_FLAGS = {
  json: { type: "boolean" },
  debug: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies Flags;

/** What a command's (or subcommand's) run gets: its flags parsed, its arguments, the streams. */
export interface Input<F extends Flags> {
  values: Values<F>;
  positionals: string[];
  streams: CliStreams;
}

export interface Subcommand<F extends Flags = Flags> {
  /** Flags beside the command's own. */
  flags: F;
  /** Rewrites the arguments before they are parsed (another spelling of the same call). */
  prepare?(args: readonly string[]): readonly string[];
  run(input: Input<F>): Promise<number>;
}

export interface Command<F extends Flags = Flags> {
  name: string;
  /** One line, for the list of commands. */
  summary: string;
  /** The usage lines and what the command does, as its help shows them. */
  usage: string;
  examples: readonly string[];
  /** Works with a profile: takes {@link PROFILE_FLAGS}, and its help shows the settings. */
  profile: boolean;
  flags: F;
  /** The first argument picks one; without one, `defaultSubcommand` runs. */
  subcommands?: Readonly<Record<string, Subcommand<Flags>>>;
  defaultSubcommand?: string;
  run?(input: Input<F>): Promise<number>;
}

/** A command's declaration, with its flags' types kept for its run. */
export function defineCommand<const F extends Flags>(
  command: Omit<Command<F>, "run"> & { run?(input: Input<F & ProfileFlags>): Promise<number> },
): Command {
  return command as unknown as Command;
}

/** A subcommand's declaration; its run sees the profile's flags when the command takes them. */
export function defineSubcommand<const F extends Flags>(
  subcommand: Omit<Subcommand<F>, "run"> & { run(input: Input<F & ProfileFlags>): Promise<number> },
): Subcommand {
  return subcommand as unknown as Subcommand;
}

/** Every flag `command` takes, in any subcommand, as parseArgs declares them. */
export function flagsOf(command: Command, subcommand?: Subcommand): Flags {
  const own = subcommand ? [subcommand] : Object.values(command.subcommands ?? {});
  return Object.assign({}, command.profile ? PROFILE_FLAGS : BASIC_FLAGS, command.flags, ...own.map((s) => s.flags));
}

/** Parses `args` against `flags`; an unknown flag is a usage error with a did-you-mean. */
export function parseFlags(
  args: readonly string[],
  flags: Flags,
): { values: Record<string, unknown>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: flags as Record<string, Flag>,
      allowPositionals: true,
      strict: true,
    });
    return { values, positionals };
  } catch (error) {
    const unknown = /Unknown option '--([^']+)'/.exec((error as Error).message)?.[1];
    if (unknown) {
      const guess = closest(unknown, Object.keys(flags));
      throw new UsageError(`Unknown flag --${unknown}.${guess ? ` Did you mean --${guess}?` : ""}`);
    }
    throw new UsageError((error as Error).message);
  }
}

/** Runs `command` with the arguments after its name. */
export async function runCommand(command: Command, args: readonly string[], streams: CliStreams): Promise<number> {
  let target: Command | Subcommand = command;
  let rest = args;
  if (command.subcommands) {
    const names = Object.keys(command.subcommands);
    const [first, ...tail] = args;
    const named = first !== undefined && !first.startsWith("-") ? first : undefined;
    const name = named ?? command.defaultSubcommand;
    const subcommand = name === undefined ? undefined : command.subcommands[name];
    if (!subcommand) {
      const guess = named ? closest(named, names) : undefined;
      const given = named ? `, not ${JSON.stringify(named)}` : "";
      const hint = guess ? ` Did you mean \`mlserver ${command.name} ${guess}\`?` : "";
      throw new UsageError(`${command.name} takes one of ${names.join(", ")}${given}.${hint}`);
    }
    target = subcommand;
    rest = named === undefined ? args : tail;
    rest = subcommand.prepare?.(rest) ?? rest;
  }
  const flags = flagsOf(command, target === command ? undefined : (target as Subcommand));
  const parsed = parseFlags(rest, flags);
  if (!target.run) throw new UsageError(`${command.name} needs a subcommand.`);
  return target.run({ values: parsed.values as Values<Flags>, positionals: parsed.positionals, streams });
}
