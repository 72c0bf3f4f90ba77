/**
 * Publish a Python service, check its generated types against the running server, consume it with
 * typed inputs, and run a small batch while 1-second tokens expire underneath:
 * `npm run example:services` (`-- --update` rewrites examples/generated/ from the server).
 */
import {
  createMlServerClient,
  createServiceClient,
  deleteService,
  mlServerLogin,
  publishService,
} from "mlserver-client";
import { main as cli } from "../src/cli/main.js";
import { startDevServer } from "mlserver-client/devserver";
import type { components } from "./generated/loan-score.js";

const server = await startDevServer({ accessTokenSeconds: 1 });
try {
  const password = "Admin-Pa55word!";
  const auth = mlServerLogin({ username: "admin", password });
  const client = createMlServerClient({ baseUrl: server.url, auth });

  const url = await publishService(client, {
    name: "loan-score",
    version: "1.0",
    alias: "scoreLoan",
    description: "Scores a loan from income and amount",
    runtimeType: "Python",
    code: [
      "import time",
      "time.sleep(0.05)  # a model worth waiting for",
      "ratio = income / amount",
      "score = round(min(1.0, ratio / 10), 3)",
      "approved = score >= 0.5",
      "print(f'scored {amount} against {income}')",
    ].join("\n"),
    inputs: { income: "numeric", amount: "numeric" },
    outputs: { score: "numeric", approved: "logical" },
  });
  console.log(`1. Published loan-score 1.0 (Python), consumed at ${url}`);

  // The types in examples/generated/ come from this service's own swagger, downloaded from the server.
  process.env.MLSERVER_PASSWORD = password;
  const update = process.argv.includes("--update");
  const code = await cli([
    "generate",
    "--server",
    server.url,
    "--service",
    "loan-score@1.0",
    "-o",
    "examples/generated/loan-score.ts",
    "--username",
    "admin",
    ...(update ? [] : ["--check"]),
  ]);
  if (code !== 0)
    throw new Error(
      "examples/generated/ does not match the server's swagger: run npm run example:services -- --update",
    );
  console.log(`2. ${update ? "Wrote" : "Checked"} the generated types against GET /api/loan-score/1.0/swagger.json`);

  const loan = createServiceClient<components>(client, { name: "loan-score", version: "1.0" });
  const one = await loan.consume({ income: 52_000, amount: 12_000 });
  console.log(
    `3. consume({ income: 52000, amount: 12000 }) → score ${one.outputs.score}, approved ` +
      `${one.outputs.approved}; it printed "${one.consoleOutput.trim()}"`,
  );

  const applicants = Array.from({ length: 40 }, (_, i) => ({ income: 20_000 + i * 2_000, amount: 10_000 }));
  let lastLine = "";
  const results = await loan.runBatch(applicants, {
    parallelCount: 4,
    intervalMs: 100,
    onProgress: (p) => {
      const line = `4. batch: ${p.completed}/${p.total} done`;
      if (line !== lastLine) process.stdout.write(`\r${(lastLine = line)}`);
    },
  });
  const failed = results.filter((r) => r instanceof Error).length;
  const approved = results.filter((r) => !(r instanceof Error) && r.outputs.approved).length;
  process.stdout.write("\n");
  // A poll answered 401 for a token rotated while it was in flight is resent once by the client;
  // had any call still failed, runBatch would have thrown instead of getting here.
  console.log(
    `5. ${results.length} results, ${approved} approved, ${failed} failed; token renewals while it ran: ` +
      `${server.counters.renewals}, 401s resent: ${server.counters.unauthorizedApiCalls}`,
  );

  await deleteService(client, { name: "loan-score", version: "1.0" });
  await auth.signOut();
  console.log("6. Deleted the service and signed out");
} finally {
  await server.close();
}
