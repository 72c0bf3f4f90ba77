/**
 * A nightly job as cron runs it, on the embedded dev server: `npm run example:cron`.
 * Each run is a fresh process; a file token store keeps the session between runs, so the server
 * sees one sign-in however often the job runs. When the server is down the job says so and exits
 * with a code of its own, which cron mails or a wrapper can act on.
 */
import { execFile } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createMlServerClient, fileTokenStore, mlServerLogin, NetworkError } from "mlserver-client";
import { startDevServer } from "mlserver-client/devserver";

/** The job itself: one call, signed in from the store when it can be. Exit 0, or 6 when the server is down. */
async function job(baseUrl: string, directory: string): Promise<number> {
  const auth = mlServerLogin({
    username: "admin",
    password: process.env.MLSERVER_PASSWORD!,
    store: fileTokenStore({ directory }),
  });
  const client = createMlServerClient({ baseUrl, auth, retry: { retries: 1, baseDelayMs: 50 } });
  try {
    const { response } = await client.GET("/status");
    console.log(`status ${response.status}`);
    return 0;
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error;
    console.error(`the server did not answer: ${error.message}`);
    return 6;
  }
}

if (process.argv[2] === "job") {
  process.exitCode = await job(process.argv[3]!, process.argv[4]!);
} else {
  const run = promisify(execFile);
  const server = await startDevServer();
  const directory = await mkdtemp(join(tmpdir(), "cron-job-"));
  const env = { ...process.env, MLSERVER_PASSWORD: "Admin-Pa55word!" };
  const once = (url: string) =>
    run(process.execPath, ["--import", "tsx", import.meta.filename, "job", url, directory], { env }).then(
      ({ stdout }) => ({ code: 0, text: stdout.trim() }),
      (error: { code: number; stderr: string }) => ({ code: error.code, text: error.stderr.trim() }),
    );
  try {
    for (let night = 1; night <= 3; night++) await once(server.url);
    console.log(
      `1. Three runs, three processes: ${server.counters.logins} sign-in, ${server.counters.requests} requests`,
    );
  } finally {
    await server.close();
  }
  const down = await once(server.url);
  console.log(`2. With the server down: exit ${down.code}, "${down.text.split(":")[0]}"`);
}
