/**
 * mrsdeploy's remoteExecute from TypeScript, on the embedded dev server: `npm run example:remote-r`.
 * An R script runs in a fresh session, writes a file, and the file comes back; a script that fails
 * before writing what was asked for reports its own error and the files it did not leave.
 */
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createMlServerClient,
  mlServerLogin,
  remoteExecute,
  RemoteExecutionError,
  saveServerFiles,
} from "mlserver-client";
import { startDevServer } from "mlserver-client/devserver";

const server = await startDevServer();
try {
  const auth = mlServerLogin({ username: "admin", password: "Admin-Pa55word!" });
  const client = createMlServerClient({ baseUrl: server.url, auth });
  const folder = await mkdtemp(join(tmpdir(), "remote-r-"));

  const run = await remoteExecute(client, {
    runtimeType: "R",
    code: 'fit <- lm(dist ~ speed, cars)\nwriteLines(as.character(round(coef(fit), 3)), "coef.txt")\ncat("fitted\\n")',
    getFiles: ["coef.txt"],
  });
  await saveServerFiles(folder, run.files);
  const coefficients = (await readFile(join(folder, "coef.txt"), "utf8")).trim().split("\n").join(", ");
  console.log(`1. The script printed "${run.consoleOutput.trim()}" and wrote coef.txt: ${coefficients}`);

  const failed = await remoteExecute(client, {
    runtimeType: "R",
    code: 'stop("early failure")',
    getFiles: ["out.txt"],
  }).catch((error: unknown) => error);
  if (!(failed instanceof RemoteExecutionError)) throw new Error("expected the script to fail");
  console.log(
    `2. A script that failed early: ${failed.code}, "${failed.errorMessage.trim()}", missing ` +
      `${failed.missingFiles.join(", ")}`,
  );

  await auth.signOut();
  console.log(`3. Signed out; sessions left open: ${server.sessions.size}`);
} finally {
  await server.close();
}
