/**
 * What ML Server's Python users do, on the embedded dev server: `npm run example:sklearn`.
 * A session trains a scikit-learn model, a snapshot keeps it, two services are published from the
 * snapshot (one scores a whole data frame, one scores a row), TypeScript consumes the first with a
 * data frame, and the CLI batches a CSV through the second.
 *
 * Needs a Python with pandas, numpy and scikit-learn: MLSERVER_PYTHON names it (a virtualenv's
 * bin/python, or Debian's /usr/bin/python3 with python3-sklearn); the default is python3.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  createMlServerClient,
  createServiceClient,
  deleteService,
  mlServerLogin,
  publishFromSession,
  publishService,
} from "mlserver-client";
import { startDevServer } from "mlserver-client/devserver";

const PASSWORD = "Admin-Pa55word!";
const server = await startDevServer({ python: process.env.MLSERVER_PYTHON ?? "python3" });
const home = mkdtempSync(join(tmpdir(), "mlserver-example-"));
try {
  const auth = mlServerLogin({ username: "admin", password: PASSWORD });
  const client = createMlServerClient({ baseUrl: server.url, auth });

  // 1. Train in a session; the snapshot keeps `model`, and the service code scores with it.
  const published = await publishFromSession(client, {
    name: "loan-model",
    version: "1.0",
    setupCode: [
      "import numpy, pandas",
      "from sklearn.linear_model import LogisticRegression",
      "history = pandas.DataFrame({'income': [20, 35, 50, 65, 80, 95, 30, 70], 'debt': [15, 20, 10, 25, 5, 10, " +
        "25, 30]})",
      "repaid = (history['income'] - 1.5 * history['debt'] > 20).astype(int)",
      "model = LogisticRegression().fit(history[['income', 'debt']], repaid)",
      "print('trained on %d loans, accuracy %.2f' % (len(history), model.score(history[['income', 'debt']], repaid)))",
    ].join("\n"),
    // `applicants` arrives as a pandas DataFrame; `scores` goes back as columns.
    code: [
      "import pandas",
      "probability = model.predict_proba(applicants[['income', 'debt']])[:, 1]",
      "scores = pandas.DataFrame({'name': applicants['name'], 'approved': probability > 0.5, 'probability': " +
        "probability.round(3)})",
    ].join("\n"),
    inputs: { applicants: "data.frame" },
    outputs: { scores: "data.frame" },
  });
  console.log(`1. ${published.setupOutput.trim()}; snapshot taken, loan-model 1.0 published from it`);

  // 2. A data frame from TypeScript, in the column form ML Server uses.
  type Frame = { name: string[]; income: number[]; debt: number[] };
  type Scores = { name: string[]; approved: boolean[]; probability: number[] };
  const loans = createServiceClient<{
    schemas: { InputParameters: { applicants: Frame }; OutputParameters: { scores: Scores } };
  }>({ baseUrl: server.url, auth, name: "loan-model", version: "1.0" });
  const { outputs } = await loans.consume({
    applicants: { name: ["ada", "bo", "cy"], income: [90, 25, 60], debt: [10, 20, 5] },
  });
  const scores = outputs.scores!;
  console.log(
    `2. Scored a data frame: ` +
      `${scores.name.map((n, i) => `${n} ${scores.approved[i] ? "approved" : "declined"}`).join(", ")}`,
  );

  // 3. A row scorer from the same snapshot, and a CSV batched through the CLI.
  await publishService(client, {
    name: "loan-row",
    version: "1.0",
    snapshotId: published.snapshotId,
    code: "approved = bool(model.predict_proba([[income, debt]])[0, 1] > 0.5)",
    inputs: { income: "numeric", debt: "numeric" },
    outputs: { approved: "logical" },
  });
  const csv = join(home, "applicants.csv");
  writeFileSync(
    csv,
    ["income,debt", ...Array.from({ length: 20 }, (_, i) => `${20 + i * 4},${5 + (i % 5) * 5}`)].join("\n"),
  );
  const cli = (args: string[], input?: string) => {
    const child = promisify(execFile)(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
      env: { ...process.env, MLSERVER_CONFIG: join(home, "config.json"), XDG_CACHE_HOME: join(home, "cache") },
    });
    child.child.stdin?.end(input);
    return child;
  };
  await cli(["login", "--server", server.url, "--username", "admin", "--password-stdin"], `${PASSWORD}\n`);
  const batch = JSON.parse((await cli(["services", "batch", "loan-row", "1.0", "--file", csv, "--json"])).stdout) as {
    total: number;
    failed: number;
    results: { outputs: { approved: boolean } }[];
  };
  console.log(
    `3. mlserver services batch loan-row 1.0 --file applicants.csv: ${batch.total} rows, ` +
      `${batch.results.filter((r) => r.outputs.approved).length} approved, ${batch.failed} failed`,
  );
  await cli(["logout"]);

  for (const name of ["loan-model", "loan-row"]) await deleteService(client, { name, version: "1.0" });
  await client.DELETE("/snapshots/{id}", { params: { path: { id: published.snapshotId } } });
  await auth.signOut();
  console.log("4. Deleted both services and the snapshot, signed out");
} finally {
  await server.close();
  rmSync(home, { recursive: true, force: true });
}
