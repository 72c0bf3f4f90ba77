/**
 * Runs the dev server in the foreground, as `mlserver devserver` does:
 * `npm run devserver -- --port 12800 --access-token-seconds 60 [--users '[{"username":"a","password":"b"}]']`.
 */
import { main } from "../src/cli/main.js";

process.exitCode = await main(["devserver", ...process.argv.slice(2)]);
