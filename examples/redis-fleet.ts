/**
 * A worker fleet that shares one ML Server token set through Redis: `npm run example:fleet`
 * (needs a Redis at REDIS_URL, default redis://127.0.0.1:6379). It starts the dev server in strict
 * session mode (a sign-in or renewal ends the account's other sessions, so processes signing in on
 * their own would evict each other), then forks WORKERS processes that call the API for SECONDS
 * with 2-second tokens, and prints what the fleet did: one sign-in, renewals by lifetime, no failure.
 */
import { fork } from "node:child_process";
import { createClient } from "redis";
import { createMlServerClient, mlServerLogin, redisTokenStore } from "mlserver-client";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const SECONDS = Number(process.env.SECONDS ?? 6);
const WORKERS = Number(process.env.WORKERS ?? 4);

if (process.argv[2] === "--worker") {
  // One worker: its own Redis connections, the shared store, and a client like any other.
  const redis = createClient({ url: REDIS_URL });
  redis.on("error", () => {}); // reconnection is node-redis's; a lost connection must not crash the worker
  await redis.connect();
  const subscriber = redis.duplicate();
  subscriber.on("error", () => {});
  await subscriber.connect();
  const auth = mlServerLogin({
    username: "svc-scoring",
    credentials: async () => ({ username: "svc-scoring", password: process.env.SVC_PASSWORD! }),
    store: redisTokenStore({ client: redis, subscriber }),
  });
  const client = createMlServerClient({ baseUrl: process.argv[3]!, auth });
  let ok = 0;
  let failed = 0;
  const until = Date.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (Date.now() < until) {
        const { response } = await client.GET("/status").catch(() => ({ response: { ok: false } }));
        if (response.ok) ok++;
        else failed++;
      }
    }),
  );
  process.send!({ ok, failed });
  await subscriber.close();
  await redis.close();
} else {
  const { startDevServer } = await import("mlserver-client/devserver");
  const password = "Svc-Pa55word!";
  const server = await startDevServer({
    accessTokenSeconds: 2,
    sessionMode: "strict",
    users: [{ username: "svc-scoring", password }],
  });
  try {
    const flush = await createClient({ url: REDIS_URL })
      .on("error", () => {})
      .connect();
    for (const key of await flush.keys("mlserver-client:*")) await flush.del(key); // a fresh start
    await flush.close();
    const results = await Promise.all(
      Array.from(
        { length: WORKERS },
        () =>
          new Promise<{ ok: number; failed: number }>((resolve, reject) => {
            const child = fork(process.argv[1]!, ["--worker", server.url], {
              execArgv: process.execArgv,
              env: { ...process.env, SVC_PASSWORD: password },
            });
            child.once("message", (m) => resolve(m as { ok: number; failed: number }));
            child.once("error", reject);
            child.once("exit", (code) => code && reject(new Error(`a worker exited with ${code}`)));
          }),
      ),
    );
    const ok = results.reduce((n, r) => n + r.ok, 0);
    const failed = results.reduce((n, r) => n + r.failed, 0);
    const { logins, renewals } = server.counters;
    console.log(
      `${WORKERS} workers, ${SECONDS} s, 2-second tokens: ${ok} calls succeeded, ${failed} failed; ${logins} ` +
        `sign-in and ${renewals} renewals for the whole fleet (about ${SECONDS / 2} lifetimes)`,
    );
  } finally {
    await server.close();
  }
}
