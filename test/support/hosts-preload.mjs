// A stand-in for /etc/hosts in child processes (node --import): names ending in `.test` resolve to
// 127.0.0.1, so a test can reach a loopback server by a name that is not a loopback name (as a
// real ML Server at http://mlserver:12800 is), without touching the machine's resolver.
import dns from "node:dns";
import process from "node:process";

const original = dns.lookup;
dns.lookup = function lookup(hostname, options, callback) {
  if (typeof hostname === "string" && hostname.endsWith(".test")) {
    const done = typeof options === "function" ? options : callback;
    const all = typeof options === "object" && options !== null && options.all;
    process.nextTick(() => (all ? done(null, [{ address: "127.0.0.1", family: 4 }]) : done(null, "127.0.0.1", 4)));
    return;
  }
  return original.call(this, hostname, options, callback);
};
