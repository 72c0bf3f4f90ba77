/**
 * Runs the dev server in the foreground:
 * `npm run devserver -- --port 12800 --access-token-seconds 60 [--users '[{"username":"a","password":"b"}]']`.
 */
import { parseArgs } from "node:util";
import { startDevServer, type DevUser } from "./server.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "12800" },
    "access-token-seconds": { type: "string", default: "3600" },
    users: { type: "string" },
  },
});
const users = values.users ? (JSON.parse(values.users) as DevUser[]) : undefined;
const server = await startDevServer({ port: Number(values.port), accessTokenSeconds: Number(values["access-token-seconds"]), ...(users && { users }) });
console.log(`ML Server dev server listening on ${server.url} (${users ? users.map((u) => u.username).join(", ") : "user admin, password Admin-Pa55word!"}). Ctrl+C stops it.`);
const stop = () => void server.close().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
