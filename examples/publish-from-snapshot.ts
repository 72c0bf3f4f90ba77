/**
 * mrsdeploy's publish flow, on the embedded dev server: `npm run example:snapshot`.
 * A session fits a small model (least squares, plain Python) from an uploaded CSV, a snapshot keeps
 * the fitted coefficients, and the service published from that snapshot scores with them on every
 * call, without fitting again. The session is closed by `publishFromSession` itself.
 */
import {
  createMlServerClient,
  createServiceClient,
  deleteService,
  mlServerLogin,
  publishFromSession,
} from "mlserver-client";
import { startDevServer } from "mlserver-client/devserver";

const server = await startDevServer();
try {
  const auth = mlServerLogin({ username: "admin", password: "Admin-Pa55word!" });
  const client = createMlServerClient({ baseUrl: server.url, auth });

  const history = "size,price\n50,150\n80,240\n100,300\n120,355\n";
  const published = await publishFromSession(client, {
    name: "house-price",
    version: "1.0",
    files: { "history.csv": history },
    setupCode: [
      "rows = [line.split(',') for line in open('history.csv').read().split()[1:]]",
      "xs, ys = [float(r[0]) for r in rows], [float(r[1]) for r in rows]",
      "mx, my = sum(xs) / len(xs), sum(ys) / len(ys)",
      "slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)",
      "intercept = my - slope * mx",
      "print('fitted on %d rows: price = %.3f * size + %.3f' % (len(xs), slope, intercept))",
    ].join("\n"),
    code: "price = round(slope * size + intercept, 2)",
    inputs: { size: "numeric" },
    outputs: { price: "numeric" },
  });
  console.log(`1. Setup ran in a session: ${published.setupOutput.trim()}`);
  console.log(
    `2. Snapshot taken, session closed (open sessions: ${server.sessions.size}), service published at ${published.url}`,
  );

  const houses = createServiceClient<{
    schemas: { InputParameters: { size: number }; OutputParameters: { price: number } };
  }>(client, { name: "house-price", version: "1.0" });
  for (const size of [60, 90]) {
    const { outputs } = await houses.consume({ size });
    console.log(`3. size ${size} → price ${outputs.price}`);
  }

  await deleteService(client, { name: "house-price", version: "1.0" });
  await client.DELETE("/snapshots/{id}", { params: { path: { id: published.snapshotId } } });
  await auth.signOut();
  console.log(`4. Deleted the service and its snapshot (snapshots left: ${server.snapshots.size}), signed out`);
} finally {
  await server.close();
}
