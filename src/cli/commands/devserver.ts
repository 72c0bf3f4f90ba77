/** `mlserver devserver`: the ML Server dev server in the foreground, until Ctrl+C. */
import { readFile } from "node:fs/promises";
import { defineCommand } from "../command.js";
import { UsageError } from "../output.js";

export const devserver = defineCommand({
  name: "devserver",
  summary: "Run the ML Server dev server on 127.0.0.1",
  usage: `mlserver devserver [--port 12800] [--access-token-seconds 3600] [--users '<json>']
                   [--tls-key <pem file> --tls-cert <pem file>] [--session-mode per-pair|strict]
                   [--cors-origin <origin>]... [--allowed-host <name>]... [--python <path>] [--r <Rscript>]
                   [--max-interpreters <n>]
    Run the ML Server dev server on 127.0.0.1 in the foreground until Ctrl+C: tokens, services
    (Python and R in warm shells: --python picks the interpreter, default python3, where data.frame
    inputs need pandas, vector and matrix numpy; --r the Rscript, default Rscript, which needs
    jsonlite), request validation against the API description. It
    answers only requests addressed to 127.0.0.1, localhost or [::1] with its port, and to each
    --allowed-host name (against DNS rebinding: list a name only if you reach it that way). --users takes
    '[{"username":"alice","password":"..."}]'; the default account is admin / Admin-Pa55word!.
    With --tls-key and --tls-cert it serves HTTPS. --session-mode strict: a sign-in or renewal ends
    the user's other sessions. --cors-origin https://app.example.com (repeatable, or *) enables CORS
    for browser apps on that origin, as ML Server's CORS settings do. GET /_devserver/counters
    answers its counters (DELETE resets them). --max-interpreters caps the Python and R processes of
    pools, sessions and batches together (default 4 per CPU, at most one per 256 MiB of memory).
  Needs the optional packages ajv, ajv-formats, jose and yaml.`,
  examples: ["mlserver devserver", "mlserver devserver --port 0 --python .venv/bin/python --access-token-seconds 60"],
  profile: false,
  flags: {
    port: { type: "string", default: "12800" },
    "access-token-seconds": { type: "string", default: "3600" },
    users: { type: "string" },
    "tls-key": { type: "string" },
    "tls-cert": { type: "string" },
    "session-mode": { type: "string", default: "per-pair" },
    "cors-origin": { type: "string", multiple: true },
    "allowed-host": { type: "string", multiple: true },
    python: { type: "string" },
    r: { type: "string" },
    "max-interpreters": { type: "string" },
  },
  async run(input) {
    const { values } = input;
    const corsOrigins = values["cors-origin"];
    const allowedHosts = values["allowed-host"];
    const python = values.python;
    const r = values.r;
    const sessionMode = values["session-mode"];
    if (sessionMode !== "per-pair" && sessionMode !== "strict")
      throw new UsageError("--session-mode is per-pair or strict.");
    const port = Number(values.port);
    if ((values["tls-key"] === undefined) !== (values["tls-cert"] === undefined))
      throw new UsageError("--tls-key and --tls-cert go together.");
    const tls =
      typeof values["tls-key"] === "string" && typeof values["tls-cert"] === "string"
        ? { key: await readFile(values["tls-key"], "utf8"), cert: await readFile(values["tls-cert"], "utf8") }
        : undefined;
    const seconds = Number(values["access-token-seconds"]);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError("--port takes a port number (0 for any free port).");
    if (!(seconds > 0)) throw new UsageError("--access-token-seconds takes a positive number.");
    const interpreters = values["max-interpreters"] === undefined ? undefined : Number(values["max-interpreters"]);
    if (interpreters !== undefined && !(Number.isInteger(interpreters) && interpreters >= 1))
      throw new UsageError("--max-interpreters takes a whole number, 1 or more.");
    let users: { username: string; password: string }[] | undefined;
    if (typeof values.users === "string") {
      try {
        users = JSON.parse(values.users) as typeof users;
      } catch {
        throw new UsageError('--users takes JSON, e.g. \'[{"username":"alice","password":"Alice-Pa55"}]\'.');
      }
    }
    const { startDevServer } = await import("../../../devserver/index.js");
    const server = await startDevServer({
      port,
      accessTokenSeconds: seconds,
      sessionMode,
      ...(users && { users }),
      ...(tls && { tls }),
      ...(corsOrigins && { cors: { origins: corsOrigins } }),
      ...(allowedHosts && { allowedHosts }),
      ...(python && { python }),
      ...(r && { r }),
      ...(interpreters !== undefined && { executionLimits: { interpreters } }),
    });
    input.streams.out.write(
      `ML Server dev server listening on ${server.url} ` +
        `(${users ? users.map((u) => u.username).join(", ") : "user admin, password Admin-Pa55word!"}). Ctrl+C ` +
        `stops it.\n`,
    );
    input.streams.out.write(
      `Next: in another terminal, mlserver login --server ${server.url} --username ` +
        `${users?.[0]?.username ?? "admin"}\n`,
    );
    await new Promise<void>((resolve) => {
      const stop = () => void server.close().then(resolve);
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    return 0;
  },
});
