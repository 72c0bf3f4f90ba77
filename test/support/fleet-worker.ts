/**
 * One process of a fleet signed in as one account: CALLERS concurrent callers of GET /status for
 * SECONDS (each pausing PAUSE_MS between its calls, default 0: back to back), with mlServerLogin,
 * sharing tokens through Redis when REDIS_URL (one Redis), REDIS_CLUSTER (a cluster's root nodes,
 * JSON) or REDIS_SENTINEL (`{ name, sentinelRootNodes }`, JSON) is set. Prints one JSON line: calls
 * that succeeded and failed (by error code), the longest a call took, and the fingerprint of the
 * token it holds at the end. Run with `node --import tsx`; used by the Redis tests and the fleet
 * benchmark.
 */
import { createClient, createCluster, createSentinel } from "redis";
import { createMlServerClient, fingerprint, mlServerLogin, redisTokenStore, type TokenStore } from "../../src/index.js";

const env = (name: string, fallback?: string) =>
  process.env[name] ??
  fallback ??
  (() => {
    throw new Error(`${name} is not set`);
  })();
const server = env("SERVER_URL");
const callers = Number(env("CALLERS", "50"));
const seconds = Number(env("SECONDS", "30"));
const username = env("FLEET_USER", "admin");
const password = env("FLEET_PASSWORD", "Admin-Pa55word!");
const pauseMs = Number(env("PAUSE_MS", "0"));

let store: TokenStore | undefined;
let redisErrors = 0;
const closers: (() => Promise<unknown>)[] = [];
if (process.env.REDIS_URL) {
  // node-redis reconnects by itself; an 'error' listener keeps a lost connection from crashing us.
  const client = createClient({
    url: process.env.REDIS_URL,
    socket: { reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 500) },
  });
  client.on("error", () => void redisErrors++);
  await client.connect();
  const subscriber = client.duplicate();
  subscriber.on("error", () => void redisErrors++);
  await subscriber.connect();
  store = redisTokenStore({ client, subscriber, commandTimeoutMs: 500 });
  closers.push(
    () => subscriber.close(),
    () => client.close(),
  );
} else if (process.env.REDIS_CLUSTER) {
  const reconnectStrategy = (retries: number) => Math.min(50 * 2 ** retries, 500);
  const rootNodes = JSON.parse(process.env.REDIS_CLUSTER) as { url: string }[];
  // Look for the new topology 1 s after a node stops answering (node-redis waits 5 s by default).
  const cluster = createCluster({
    rootNodes,
    defaults: { socket: { reconnectStrategy } },
    topologyRefreshOnReconnectionAttemptStrategy: 1000,
  });
  cluster.on("error", () => void redisErrors++);
  await cluster.connect();
  store = redisTokenStore({ client: cluster, commandTimeoutMs: 500 });
  // destroy, not close: close waits for the node that was killed, and never settles.
  closers.push(async () => cluster.destroy());
} else if (process.env.REDIS_SENTINEL) {
  const { name, sentinelRootNodes } = JSON.parse(process.env.REDIS_SENTINEL) as {
    name: string;
    sentinelRootNodes: { host: string; port: number }[];
  };
  const sentinel = createSentinel({ name, sentinelRootNodes });
  sentinel.on("error", () => void redisErrors++);
  await sentinel.connect();
  store = redisTokenStore({ client: sentinel, commandTimeoutMs: 500 });
  closers.push(async () => sentinel.destroy());
}
const warnings: string[] = [];
process.removeAllListeners("warning");
process.on("warning", (w) => warnings.push(w.message.slice(0, 200)));

const auth = mlServerLogin({ username, password, ...(store && { store }) });
const client = createMlServerClient({ baseUrl: server, auth });
const deadline = Date.now() + seconds * 1000;
let ok = 0;
let longestMs = 0;
const failed: Record<string, number> = {};
await Promise.all(
  Array.from({ length: callers }, async () => {
    while (Date.now() < deadline) {
      const started = performance.now();
      try {
        const { response } = await client.GET("/status");
        if (response.ok) ok++;
        else failed[`HTTP ${response.status}`] = (failed[`HTTP ${response.status}`] ?? 0) + 1;
      } catch (error) {
        const code = (error as { code?: string }).code ?? (error as Error).name;
        failed[code] = (failed[code] ?? 0) + 1;
      }
      longestMs = Math.max(longestMs, performance.now() - started);
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }),
);
const { accessToken } = await auth.getAccessToken();
console.log(
  JSON.stringify({
    ok,
    failed,
    longestMs: Math.round(longestMs),
    token: fingerprint(accessToken),
    warnings: [...new Set(warnings)],
    redisErrors,
  }),
);
for (const close of closers) await close().catch(() => {});
