/**
 * The fleet's token set on Redis as production runs it, from Debian's redis-server and
 * redis-sentinel on loopback ports: a cluster of 3 masters with a replica each, and a master with a
 * replica under 3 sentinels. Each takes node-redis's own client for it (createCluster,
 * createSentinel); every key of a set shares one hash slot, so locks and fenced writes work in a
 * cluster; waiters wake by (sharded) pub/sub. Then a fleet of processes runs through a failover:
 * the master holding the set is killed with SIGKILL mid-run, and no paced call fails.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { createCluster, createSentinel } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../devserver/server.js";
import { redisTokenStore, TokenStoreError, type TokenStore, type TokenStoreKey } from "../../src/index.js";
import { describeWithProgram } from "../support/daemons.js";
import {
  REDIS_SENTINEL,
  startRedisCluster,
  startRedisSentinel,
  type RedisCluster,
  type RedisSentinelSet,
} from "../support/redis-topologies.js";

const exec = promisify(execFile);
const KEY: TokenStoreKey = { origin: "https://mlserver.example.com", account: "svc", strategy: "ml-server-login" };

interface FleetResult {
  ok: number;
  failed: Record<string, number>;
  longestMs: number;
  warnings: string[];
}

/** `count` fleet processes against `server`, with the topology in `env`. */
const fleet = (server: DevServer, count: number, env: Record<string, string>) =>
  Promise.all(
    Array.from({ length: count }, () =>
      exec(process.execPath, ["--import", "tsx", join(import.meta.dirname, "../support/fleet-worker.ts")], {
        env: { ...process.env, SERVER_URL: server.url, ...env },
        timeout: 120_000,
      }).then(
        ({ stdout }) => JSON.parse(stdout.trim().split("\n").at(-1)!) as FleetResult,
        (error: { code: number; stdout: string; stderr: string }) => {
          throw new Error(
            `a fleet process exited with ${error.code}:\n${error.stderr.slice(-2000)}\n${error.stdout.slice(-500)}`,
          );
        },
      ),
    ),
  );

/** Locks, fenced writes and wake-ups, the same on every topology. */
async function storeContract(a: TokenStore, b: TokenStore): Promise<void> {
  await a.write(KEY, { v: 1, accessToken: "first", refreshToken: "r", expiresAt: Date.now() + 60_000 });
  expect(await b.read(KEY)).toMatchObject({ accessToken: "first" });
  // b polls only once a minute: only the release message, on the set's own slot, can wake it.
  const order: string[] = [];
  let release!: () => void;
  let entered!: () => void;
  const aHolds = new Promise<void>((r) => (entered = r));
  const first = a.withLock(KEY, async () => {
    order.push("a in");
    entered();
    await new Promise<void>((r) => (release = r));
    await a.write(KEY, { v: 1, accessToken: "second" });
    order.push("a out");
  });
  await aHolds;
  const started = Date.now();
  const second = b.withLock(KEY, async () => void order.push("b in"));
  await new Promise((r) => setTimeout(r, 200));
  expect(order).toEqual(["a in"]);
  release();
  await Promise.all([first, second]);
  expect(order).toEqual(["a in", "a out", "b in"]);
  expect(Date.now() - started).toBeLessThan(5_000);
  expect(await b.read(KEY)).toMatchObject({ accessToken: "second" });
  await a.delete(KEY);
}

/**
 * The fleet's promise through a failover: no failed paced call, at most 2 sign-ins, and no call
 * stalled longer than the failover (1 s to detect, then the promotion) and the wait for a peer's
 * set. With 2-second tokens a renewal falls due inside the failover: one process renews on its
 * own, which under rotation ends the pair the others hold; they wait for its set instead of
 * signing in. A lock whose SET reached the new master after its release would hold every caller
 * for the lock's TTL (30 s).
 */
async function throughFailover(
  server: DevServer,
  env: Record<string, string>,
  failover: () => Promise<void>,
): Promise<FleetResult[]> {
  server.resetCounters();
  const running = fleet(server, 4, { ...env, CALLERS: "10", SECONDS: "14", PAUSE_MS: "50" });
  // Once the fleet is calling and has stored its set (processes start slowly under load).
  const deadline = Date.now() + 60_000;
  while (server.counters.requests < 300 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await failover();
  const results = await running;
  const failed = results.reduce((n, r) => n + Object.values(r.failed).reduce((a, b) => a + b, 0), 0);
  const ok = results.reduce((n, r) => n + r.ok, 0);
  const longest = Math.max(...results.map((r) => r.longestMs));
  console.log(
    `fleet through a failover (${Object.keys(env)[0]}): ${ok} calls ok, ${failed} failed, ` +
      `${server.counters.logins} sign-ins, ${server.counters.renewals} renewals, longest call ${longest} ms; ` +
      `warnings: ${[...new Set(results.flatMap((r) => r.warnings))].join(" | ")}`,
  );
  expect(ok).toBeGreaterThan(100);
  expect(failed).toBe(0);
  expect(server.counters.logins).toBeLessThanOrEqual(2);
  expect(longest).toBeLessThan(15_000);
  return results;
}

describeWithProgram(REDIS_SENTINEL, "Redis Cluster and Sentinel", () => {
  let server: DevServer;
  beforeAll(async () => {
    server = await startDevServer({ accessTokenSeconds: 2 });
  });
  afterAll(() => server?.close());

  it("a client of another shape is a typed error naming the clients accepted", () => {
    expect(() => redisTokenStore({ client: {} as never })).toThrow(TokenStoreError);
    expect(() => redisTokenStore({ client: {} as never })).toThrow(/createClient, createCluster or createSentinel/);
  });

  describeWithProgram("/usr/bin/redis-server", "a cluster of 3 masters and 3 replicas", () => {
    let cluster: RedisCluster;
    let client: ReturnType<typeof createCluster>;
    beforeAll(async () => {
      cluster = await startRedisCluster();
      client = createCluster({ rootNodes: cluster.rootNodes });
      client.on("error", () => {});
      await client.connect();
    }, 120_000);
    afterAll(async () => {
      await client?.close().catch(() => {});
      await cluster?.stop();
    });

    it(
      "keeps every key of a set in one slot; locks, fenced writes and sharded wake-ups work across the " + "cluster",
      async () => {
        const a = redisTokenStore({ client, prefix: "c1:" });
        const b = redisTokenStore({ client, prefix: "c1:", pollMs: 60_000 });
        await storeContract(a, b);
        await a.withLock(KEY, () => a.write(KEY, { v: 1, accessToken: "x" }));
        const keys: string[] = [];
        for (const master of client.masters) {
          const node = await client.nodeClient(master);
          keys.push(...(await node.keys("c1:*")));
        }
        expect(keys.sort().map((k) => k.replace(/\{[0-9a-f]{40}\}/, "{id}"))).toEqual([
          "c1:{id}:fence",
          "c1:{id}:tokens",
        ]);
        const slots = new Set(
          await Promise.all(keys.map((k) => client.sendCommand(k, true, ["CLUSTER", "KEYSLOT", k]))),
        );
        expect(slots.size).toBe(1);
      },
    );

    it("a fleet rides out the failover of the master holding its set: no failed call, at most 2 sign-ins, no " +
      "stall past the failover", async () => {
      await throughFailover(server, { REDIS_CLUSTER: JSON.stringify(cluster.rootNodes) }, async () => {
        const keys: string[] = [];
        for (const master of client.masters)
          keys.push(...(await (await client.nodeClient(master)).keys("mlserver-client:*:tokens")));
        expect(keys).toHaveLength(1);
        cluster.kill(await cluster.masterFor(keys[0]!));
      });
    }, 180_000);

    it("rides out every node unreachable for 10 s: no failed call, no second sign-in, one set again " +
      "after", async () => {
      server.resetCounters();
      const running = fleet(server, 4, {
        REDIS_CLUSTER: JSON.stringify(cluster.rootNodes),
        CALLERS: "10",
        SECONDS: "18",
        PAUSE_MS: "50",
      });
      const deadline = Date.now() + 60_000;
      while (server.counters.requests < 300 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await cluster.pause(10_000); // five token lifetimes: processes renew on their own meanwhile
      const results = await running;
      const failed = results.reduce((n, r) => n + Object.values(r.failed).reduce((a, b) => a + b, 0), 0);
      const { logins, renewals, failedRenewals } = server.counters;
      console.log(
        `fleet with the whole cluster unreachable for 10 s: ${results.reduce((n, r) => n + r.ok, 0)} calls ok, ` +
          `${failed} failed, ${logins} sign-ins, ${renewals} renewals, ${failedRenewals} refused`,
      );
      expect(failed).toBe(0);
      expect(results.every((r) => r.warnings.some((w) => /Redis/.test(w)))).toBe(true);
      // Renewals refused under rotation are waited out for the peer's set, never answered by a
      // sign-in (the fleet may start from the set an earlier test stored: then none at all).
      expect(failedRenewals).toBeGreaterThan(0);
      expect(logins).toBeLessThanOrEqual(1);
      expect(Math.max(...results.map((r) => r.longestMs))).toBeLessThan(15_000);
      const keys: string[] = [];
      for (const master of client.masters)
        keys.push(...(await (await client.nodeClient(master)).keys("mlserver-client:*:tokens")));
      expect(keys).toHaveLength(1);
    }, 180_000);
  });

  describe("a master and a replica under 3 sentinels", () => {
    let sentinels: RedisSentinelSet;
    let client: ReturnType<typeof createSentinel>;
    beforeAll(async () => {
      sentinels = await startRedisSentinel();
      client = createSentinel({ name: sentinels.name, sentinelRootNodes: sentinels.sentinelRootNodes });
      client.on("error", () => {});
      await client.connect();
    }, 120_000);
    afterAll(async () => {
      await client?.close().catch(() => {});
      await sentinels?.stop();
    });

    it("locks, fenced writes and wake-ups work through the master the sentinels name", async () => {
      await storeContract(
        redisTokenStore({ client, prefix: "s1:" }),
        redisTokenStore({ client, prefix: "s1:", pollMs: 60_000 }),
      );
    });

    it("a fleet rides out the sentinels' failover: no failed call, at most 2 sign-ins, no stall past the " +
      "failover", async () => {
      const before = await sentinels.master();
      await throughFailover(
        server,
        { REDIS_SENTINEL: JSON.stringify({ name: sentinels.name, sentinelRootNodes: sentinels.sentinelRootNodes }) },
        async () => {
          sentinels.kill(before);
        },
      );
      expect(await sentinels.master()).not.toBe(before);
    }, 180_000);
  });
});
