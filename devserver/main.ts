/** Runs the dev server in the foreground: `npm run devserver -- --port 12800 --access-token-seconds 60`. */
import { parseArgs } from "node:util";
import { startDevServer } from "./server.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "12800" },
    "access-token-seconds": { type: "string", default: "3600" },
  },
});
const server = await startDevServer({ port: Number(values.port), accessTokenSeconds: Number(values["access-token-seconds"]) });
console.log(`ML Server dev server listening on ${server.url} (user admin, password Admin-Pa55word!). Ctrl+C stops it.`);
process.on("SIGINT", () => void server.close().then(() => process.exit(0)));
