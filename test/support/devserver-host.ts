/**
 * A process that starts the dev server, leaves a session and a service call running code that
 * started `sleep` children (the durations come from argv, then the runtime: Python by default, or
 * R), and prints READY: for the tests that kill it with SIGKILL and check that nothing it started
 * survives. Run with `node --import tsx`.
 */
import { startDevServer } from "../../devserver/server.js";

const [sessionSleep, serviceSleep, runtimeType = "Python"] = process.argv.slice(2);
const server = await startDevServer({
  ...(process.env.MLSERVER_TEST_PYTHON && { python: process.env.MLSERVER_TEST_PYTHON }),
  ...(process.env.MLSERVER_TEST_R && { r: process.env.MLSERVER_TEST_R }),
});
const login = await fetch(`${server.url}/login`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ username: "admin", password: "Admin-Pa55word!" }),
});
const headers = {
  authorization: `Bearer ${((await login.json()) as { access_token: string }).access_token}`,
  "content-type": "application/json",
};
const post = (path: string, body: unknown) =>
  fetch(`${server.url}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
const code = (seconds: string) =>
  runtimeType === "R"
    ? `system("sleep ${seconds}", wait = FALSE)\nSys.sleep(100)`
    : `import subprocess, time\nsubprocess.Popen(['sleep', '${seconds}'])\ntime.sleep(100)`;
const { sessionId } = (await (await post("/sessions", { runtimeType })).json()) as { sessionId: string };
void post(`/sessions/${sessionId}/execute`, { code: code(sessionSleep!) });
await post("/services/left-running/1", { code: code(serviceSleep!), runtimeType });
void post("/api/left-running/1", {});
console.log("READY");
