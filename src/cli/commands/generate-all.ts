/** `mlserver generate-all`: regenerate (or check) every target of a targets file. */
import { readFile } from "node:fs/promises";
import type { GenerationTarget } from "../../codegen/generate.js";
import { defineCommand } from "../command.js";
import { runTargets } from "./generate.js";

export const generateAll = defineCommand({
  name: "generate-all",
  summary: "Regenerate every target listed in a targets file",
  usage: `mlserver generate-all [--check] [--targets openapi/targets.json]
    Regenerate every target listed in the targets file; --check fails, naming each stale file, on drift.`,
  examples: ["mlserver generate-all", "mlserver generate-all --check"],
  profile: false,
  flags: { check: { type: "boolean" }, targets: { type: "string" } },
  async run({ values, streams }) {
    const file = values.targets ?? "openapi/targets.json";
    const targets = JSON.parse(await readFile(file, "utf8")) as GenerationTarget[];
    return runTargets(targets, values.check === true, streams.out);
  },
});
