/**
 * The CLI's commands come from one list of declarations: each command's help renders from its
 * declaration, every flag it declares is offered by completion (for every subcommand too), the
 * full help lists every command, and did-you-mean knows the declared names.
 */
import { describe, expect, it } from "vitest";
import { flagsOf } from "../../src/cli/command.js";
import { COMMANDS } from "../../src/cli/commands/index.js";
import { completeCommand } from "../../src/cli/completion.js";
import { main } from "../../src/cli/main.js";

/** Streams that keep what is written. */
function capture() {
  let out = "";
  let err = "";
  return {
    streams: { out: { write: (text: string) => (out += text) }, err: { write: (text: string) => (err += text) } },
    out: () => out,
    err: () => err,
  };
}

async function completions(words: string[]): Promise<string[]> {
  const c = capture();
  expect(await completeCommand(words, c.streams)).toBe(0);
  return c.out().split("\n").filter(Boolean);
}

describe.each(COMMANDS.map((command) => [command.name, command] as const))("mlserver %s", (name, command) => {
  it("renders its help from its declaration, with `--help` and with `help <command>`", async () => {
    for (const args of [
      [name, "--help"],
      ["help", name],
    ]) {
      const c = capture();
      expect(await main(args, c.streams)).toBe(0);
      expect(c.out()).toContain(command.usage);
      for (const example of command.examples) expect(c.out()).toContain(example);
      expect(c.out()).toContain("Exit codes:");
      expect(c.out().includes("Settings, in order of precedence"), "settings only for commands with a profile").toBe(
        command.profile,
      );
    }
  });

  it("offers every flag it declares, and its subcommands, to completion", async () => {
    const offered = await completions([name, "--"]);
    const declared = Object.keys(flagsOf(command));
    expect(declared.length).toBeGreaterThan(0);
    for (const flag of declared) expect(offered).toContain(`--${flag}`);
    const subcommands = Object.keys(command.subcommands ?? {});
    if (subcommands.length > 0) expect(await completions([name, ""])).toEqual(subcommands);
    for (const subcommand of subcommands) {
      // A subcommand's own flags complete after it as well.
      const after = await completions([name, subcommand, "--"]);
      for (const flag of Object.keys(flagsOf(command, command.subcommands![subcommand])))
        expect(after).toContain(`--${flag}`);
    }
  });
});

describe("the list of commands", () => {
  it("mlserver --help shows every command's usage; completion offers every command", async () => {
    const c = capture();
    expect(await main(["--help"], c.streams)).toBe(0);
    for (const command of COMMANDS) expect(c.out()).toContain(command.usage);
    expect(await completions([""])).toEqual([...COMMANDS.map((command) => command.name), "help"]);
    expect(await completions(["help", ""])).toEqual(COMMANDS.map((command) => command.name));
  });

  it("suggests the declared name for a misspelled command, subcommand or flag", async () => {
    const command = capture();
    expect(await main(["servces", "list"], command.streams)).toBe(2);
    expect(command.err()).toContain("Did you mean `mlserver services`?");
    const subcommand = capture();
    expect(await main(["services", "lst"], subcommand.streams)).toBe(2);
    expect(subcommand.err()).toContain("Did you mean `mlserver services list`?");
    const flag = capture();
    expect(await main(["run", "x.py", "--get-fil", "y"], flag.streams)).toBe(2);
    expect(flag.err()).toContain("Did you mean --get-file?");
  });

  it("names are unique, and each command runs something or has subcommands", () => {
    const names = COMMANDS.map((command) => command.name);
    expect(new Set(names).size).toBe(names.length);
    for (const command of COMMANDS)
      expect(command.run !== undefined || command.subcommands !== undefined, command.name).toBe(true);
  });
});
