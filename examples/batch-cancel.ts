/**
 * A 100-row batch, followed with progress and cancelled halfway, on the embedded dev server:
 * `npm run example:batch`. Aborting `runBatch`'s signal stops the polling and the batch on the
 * server together; the cancelled batch is gone from the list.
 */
import {
  createMlServerClient,
  createServiceClient,
  deleteService,
  mlServerLogin,
  publishService,
} from "mlserver-client";
import { startDevServer } from "mlserver-client/devserver";

type Slow = { schemas: { InputParameters: { x: number }; OutputParameters: { y: number } } };

const server = await startDevServer();
try {
  const auth = mlServerLogin({ username: "admin", password: "Admin-Pa55word!" });
  const client = createMlServerClient({ baseUrl: server.url, auth });
  await publishService(client, {
    name: "slow",
    version: "1.0",
    code: "import time\ntime.sleep(0.05)\ny = x + 1",
    inputs: { x: "numeric" },
    outputs: { y: "numeric" },
  });
  const slow = createServiceClient<Slow>(client, { name: "slow", version: "1.0" });

  const rows = Array.from({ length: 100 }, (_, x) => ({ x }));
  const controller = new AbortController();
  let id = "";
  let seen = 0;
  const outcome = await slow
    .runBatch(rows, {
      parallelCount: 2,
      intervalMs: 100,
      signal: controller.signal,
      onStart: (started) => (id = started),
      onProgress: ({ completed, total }) => {
        seen = completed;
        if (completed >= total / 2) controller.abort(new Error("halfway"));
      },
    })
    .then(
      () => "completed",
      (error: Error) => `stopped (${error.message})`,
    );
  console.log(`1. Batch of 100 rows ${outcome} at ${seen} of 100 rows`);
  const listed = await slow.listBatches();
  console.log(
    `2. Cancelled on the server too: ${listed.includes(id) ? "still listed" : "no longer listed"} ` +
      `(${listed.length} batches left)`,
  );

  await deleteService(client, { name: "slow", version: "1.0" });
  await auth.signOut();
  console.log("3. Deleted the service, signed out");
} finally {
  await server.close();
}
