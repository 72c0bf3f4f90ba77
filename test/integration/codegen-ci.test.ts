/**
 * docs/generating-types.md's "Regenerate in CI" as a user copies it: the GitHub Actions workflow's
 * `run` steps and the GitLab job's script, read from the page, run in a TypeScript 7 project
 * (installed from the packed tarballs) against the dev server, with the credentials in the
 * environment as the CI's secrets would put them. The page's update commands make the files; then
 * fresh files pass, a stale one fails naming it, and a wrong password fails with the sign-in code.
 */
import { execFile } from "node:child_process";
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { startDevServer, type DevServer } from "../../devserver/server.js";
import { createMlServerClient, mlServerLogin, publishService } from "../../src/index.js";
import { npm, packTarballs, root } from "../support/packed.js";
import { tempDir } from "../support/tmp.js";

const exec = promisify(execFile);
const PASSWORD = "Admin-Pa55word!";

/** The fenced blocks of `language` in the page's "Regenerate in CI" section, in order. */
function blocks(language: string): string[] {
  const page = readFileSync(join(root, "docs/generating-types.md"), "utf8");
  const section = page.slice(page.indexOf("## Regenerate in CI"));
  return [...section.matchAll(new RegExp("```" + language + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]!);
}

interface GitHubWorkflow {
  jobs: Record<string, { steps: { run?: string; uses?: string }[] }>;
}

const [github, gitlab] = blocks("yaml").map((text) => parse(text) as unknown);
const githubSteps = Object.values((github as GitHubWorkflow).jobs).flatMap((job) =>
  job.steps.flatMap((step) => (step.run ? [step.run] : [])),
);
const gitlabScript = Object.values(gitlab as Record<string, { script: string[] }>)[0]!.script;
// The update commands, with the password placeholder standing for the CI's secret.
const updates = blocks("sh")[0]!
  .split("\n")
  .filter((line) => line.includes("mlserver generate"))
  .map((line) => line.replace(/^MLSERVER_PASSWORD=\.\.\. /, ""));

let server: DevServer;
let project: string;

beforeAll(async () => {
  const work = await tempDir("mlserver-client-codegen-ci-");
  const tarballs = await packTarballs(work);
  project = join(work, "project");
  mkdirSync(project);
  const manifest = {
    name: "scoring-app",
    version: "1.0.0",
    private: true,
    type: "module",
    dependencies: { "mlserver-client": `file:${tarballs.client}` },
    devDependencies: { "mlserver-client-toolchain": `file:${tarballs.toolchain}`, typescript: "7.0.2" },
  };
  writeFileSync(join(project, "package.json"), JSON.stringify(manifest, null, 2));
  await npm(["install"], project);
  server = await startDevServer();
  const client = createMlServerClient({
    baseUrl: server.url,
    auth: mlServerLogin({ username: "admin", password: PASSWORD }),
  });
  await publishService(client, {
    name: "loanScore",
    version: "1.0",
    code: "score = amount / 1000",
    inputs: { amount: "numeric" },
    outputs: { score: "numeric" },
  });
}, 300_000);
afterAll(() => server?.close());

interface Outcome {
  code: number;
  stderr: string;
}

/** Whether a job ran `npm ci` already: it makes the same node_modules every time, and nothing here changes them. */
let installed = false;

/** Runs each command with bash in the project, as a CI runner does, stopping at the first failure. */
async function job(commands: readonly string[], password = PASSWORD): Promise<Outcome> {
  const env = { ...process.env, MLSERVER_URL: server.url, MLSERVER_USERNAME: "admin", MLSERVER_PASSWORD: password };
  for (const command of commands) {
    if (command === "npm ci" && installed) continue;
    installed ||= command === "npm ci";
    const failed = await exec("bash", ["-euc", command], { cwd: project, env, timeout: 120_000 }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
    );
    if (failed) return failed;
  }
  return { code: 0, stderr: "" };
}

describe("the page's CI jobs", () => {
  it(
    "the page has both jobs, each installing, checking the core types and checking a service's types with " + "--check",
    () => {
      for (const commands of [githubSteps, gitlabScript]) {
        expect(commands[0]).toBe("npm ci");
        expect(commands.slice(1)).toHaveLength(2);
        for (const command of commands.slice(1)) expect(command).toContain("--check");
        // No secret on the command line: the password comes from the environment by name.
        expect(commands.join("\n")).toContain("--password-env MLSERVER_PASSWORD");
        expect(commands.join("\n")).not.toMatch(/--password[ =]/);
      }
      expect(updates).toHaveLength(2);
    },
  );

  it("passes on the files the update commands wrote, which the project's TypeScript 7 accepts", async () => {
    expect(await job(updates)).toEqual({ code: 0, stderr: "" });
    writeFileSync(
      join(project, "use.ts"),
      'import type { paths } from "./src/generated/loan-score.js";\nimport type { paths as core } from ' +
        '"./src/generated/mlserver.js";\nexport type Body = paths["/api/loanScore/1.0"]["post"];\nexport type ' +
        'Status = core["/status"]["get"];\n',
    );
    await exec(
      process.execPath,
      [
        join(project, "node_modules/typescript/bin/tsc"),
        "--noEmit",
        "--strict",
        "--module",
        "nodenext",
        "--lib",
        "es2023,dom",
        "use.ts",
      ],
      { cwd: project },
    );
    expect(await job(githubSteps)).toEqual({ code: 0, stderr: "" });
    expect(await job(gitlabScript)).toEqual({ code: 0, stderr: "" });
  }, 300_000);

  it("fails with 1 naming the stale file, and passes again once it is regenerated", async () => {
    appendFileSync(join(project, "src/generated/loan-score.ts"), "// edited by hand\n");
    for (const commands of [githubSteps, gitlabScript]) {
      const outcome = await job(commands);
      expect(outcome.code).toBe(1);
      expect(outcome.stderr).toContain("ERR_GENERATED_STALE");
      expect(outcome.stderr).toContain("src/generated/loan-score.ts");
      expect(outcome.stderr).not.toContain("src/generated/mlserver.ts");
    }
    expect((await job(updates)).code).toBe(0);
    expect((await job(githubSteps)).code).toBe(0);
  }, 300_000);

  it("fails with the sign-in exit code, 3, on a wrong password, which it never prints", async () => {
    for (const commands of [githubSteps, gitlabScript]) {
      const outcome = await job(commands, "wrong-Pa55word!");
      expect(outcome.code).toBe(3);
      expect(outcome.stderr).toContain("ERR_AUTHENTICATION_FAILED");
      expect(outcome.stderr).not.toContain("wrong-Pa55word!");
    }
  }, 300_000);
});
