/**
 * What ML Server's R users do with mrsdeploy, on the embedded dev server: `npm run example:r`.
 * An R session fits a linear model, a snapshot keeps it, two R services are published from the
 * snapshot (one scores a whole data frame, one a row), TypeScript consumes the first with a data
 * frame, and the CLI batches a CSV through the second.
 *
 * Needs R with jsonlite (Debian: apt install r-base-core r-cran-jsonlite): MLSERVER_R names the
 * Rscript; the default is Rscript.
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
const server = await startDevServer({ r: process.env.MLSERVER_R ?? "Rscript" });
const home = mkdtempSync(join(tmpdir(), "mlserver-example-"));
try {
  const auth = mlServerLogin({ username: "admin", password: PASSWORD });
  const client = createMlServerClient({ baseUrl: server.url, auth });

  // 1. Fit in an R session; the snapshot keeps `fit`, and the service code predicts with it.
  const published = await publishFromSession(client, {
    name: "stopping-distance",
    version: "1.0",
    runtimeType: "R",
    setupCode: [
      "fit <- lm(dist ~ speed, data = cars)",
      "cat(sprintf('fitted on %d cars, R-squared %.2f\\n', nrow(cars), summary(fit)$r.squared))",
    ].join("\n"),
    // `trial` arrives as an R data frame; `predicted` goes back as columns.
    code: "predicted <- data.frame(speed = trial$speed, dist = round(predict(fit, trial), 1))",
    inputs: { trial: "data.frame" },
    outputs: { predicted: "data.frame" },
  });
  console.log(`1. ${published.setupOutput.trim()}; snapshot taken, stopping-distance 1.0 published from it`);

  // 2. A data frame from TypeScript, in the column form ML Server uses.
  type Trial = { speed: number[] };
  type Predicted = { speed: number[]; dist: number[] };
  const stopping = createServiceClient<{
    schemas: { InputParameters: { trial: Trial }; OutputParameters: { predicted: Predicted } };
  }>({
    baseUrl: server.url,
    auth,
    name: "stopping-distance",
    version: "1.0",
  });
  const { outputs } = await stopping.consume({ trial: { speed: [7, 15, 24] } });
  const predicted = outputs.predicted!;
  console.log(
    `2. Scored a data frame: ${predicted.speed.map((s, i) => `${s} mph stops in ${predicted.dist[i]} ft`).join(", ")}`,
  );

  // 3. A row scorer from the same snapshot, and a CSV batched through the CLI.
  await publishService(client, {
    name: "stopping-row",
    version: "1.0",
    runtimeType: "R",
    snapshotId: published.snapshotId,
    code: "dist <- round(predict(fit, data.frame(speed = speed)), 1)",
    inputs: { speed: "numeric" },
    outputs: { dist: "numeric" },
  });
  const csv = join(home, "speeds.csv");
  writeFileSync(csv, ["speed", ...Array.from({ length: 20 }, (_, i) => String(5 + i))].join("\n"));
  const cli = (args: string[], input?: string) => {
    const child = promisify(execFile)(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
      env: { ...process.env, MLSERVER_CONFIG: join(home, "config.json"), XDG_CACHE_HOME: join(home, "cache") },
    });
    child.child.stdin?.end(input);
    return child;
  };
  await cli(["login", "--server", server.url, "--username", "admin", "--password-stdin"], `${PASSWORD}\n`);
  const batch = JSON.parse(
    (await cli(["services", "batch", "stopping-row", "1.0", "--file", csv, "--json"])).stdout,
  ) as { total: number; failed: number; results: { outputs: { dist: number } }[] };
  const over50 = batch.results.filter((r) => r.outputs.dist > 50).length;
  console.log(
    `3. mlserver services batch stopping-row 1.0 --file speeds.csv: ${batch.total} rows, ${over50} stop beyond ` +
      `50 ft, ${batch.failed} failed`,
  );
  await cli(["logout"]);

  for (const name of ["stopping-distance", "stopping-row"]) await deleteService(client, { name, version: "1.0" });
  await client.DELETE("/snapshots/{id}", { params: { path: { id: published.snapshotId } } });
  await auth.signOut();
  console.log("4. Deleted both services and the snapshot, signed out");
} finally {
  await server.close();
  rmSync(home, { recursive: true, force: true });
}
