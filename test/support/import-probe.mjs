// Usage: node import-probe.mjs <module> [code to run after the import, as an async function body]
// Prints, as JSON, every module URL resolved while importing (and running).
import { register } from "node:module";
import { MessageChannel } from "node:worker_threads";

const { port1, port2 } = new MessageChannel();
const seen = [];
port1.on("message", (url) => seen.push(url));
port1.unref();
register("./record-imports.mjs", import.meta.url, { data: { port: port2 }, transferList: [port2] });

const module = await import(process.argv[2]);
if (process.argv[3]) await new Function("m", `return (async () => { ${process.argv[3]} })()`)(module);
await new Promise((r) => setTimeout(r, 100));
console.log(JSON.stringify(seen));
