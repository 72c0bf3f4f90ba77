/**
 * redisTokenStore against a real redis-server on loopback: namespaced, encrypted, expiring entries;
 * owner-only lock release, expiry of a crashed holder's lock, fenced writes; and fleets of worker
 * processes against the dev server in strict session mode, with Redis restarted mid-run and with
 * Redis down from the start.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { startDevServer, type DevServer } from "../../devserver/server.js";
import {
  createMlServerClient,
  mlServerLogin,
  redisTokenStore,
  TokenStoreError,
  type TokenStoreKey,
} from "../../src/index.js";
import { describeWithProgram, REDIS, startRedis, type RedisServer } from "../support/daemons.js";

const exec = promisify(execFile);
const KEY: TokenStoreKey = {
  origin: "https://mlserver.example.com:12800",
  account: "svc",
  strategy: "ml-server-login",
};

describeWithProgram(REDIS, "redisTokenStore", () => {
  let redis: RedisServer;
  let client: ReturnType<typeof createClient>;
  let subscriber: ReturnType<typeof createClient>;
  beforeAll(async () => {
    redis = await startRedis();
    client = createClient({ url: redis.url, socket: { reconnectStrategy: (n) => Math.min(50 * 2 ** n, 500) } });
    client.on("error", () => {});
    await client.connect();
    subscriber = client.duplicate();
    subscriber.on("error", () => {});
    await subscriber.connect();
  }, 30_000);
  afterAll(async () => {
    await subscriber?.close().catch(() => {});
    await client?.close().catch(() => {});
    await redis?.stop();
  });

  it(
    "keeps entries under namespaced keys, with a TTL from the refresh token's lifetime, encrypted when a key " +
      "is set",
    async () => {
      const store = redisTokenStore({ client, prefix: "t1:", refreshTokenSeconds: 3600 });
      await store.write(KEY, { v: 1, accessToken: "a", refreshToken: "r", expiresAt: Date.now() + 60_000 });
      const keys = await client.keys("t1:*");
      // Every key of one set carries one hash tag, so a cluster keeps them in one slot.
      expect(keys.filter((k) => /^t1:\{[0-9a-f]{40}\}:tokens$/.test(k))).toHaveLength(1);
      const ttl = await client.pTTL(keys.find((k) => k.endsWith(":tokens"))!);
      expect(ttl).toBeGreaterThan(3590_000);
      expect(ttl).toBeLessThanOrEqual(3600_000);
      expect(await store.read(KEY)).toMatchObject({ accessToken: "a", refreshToken: "r" });
      expect(await store.read({ ...KEY, account: "other" })).toBeUndefined();

      const sealed = redisTokenStore({ client, prefix: "t2:", encryptionKey: Buffer.alloc(32, 3) });
      await sealed.write(KEY, { v: 1, accessToken: "secret-access-token" });
      const raw = await client.hGet((await client.keys("t2:{*}:tokens"))[0]!, "data");
      expect(raw).not.toContain("secret-access-token");
      expect(await sealed.read(KEY)).toMatchObject({ accessToken: "secret-access-token" });
      await expect(
        redisTokenStore({ client, prefix: "t2:", encryptionKey: Buffer.alloc(32, 4) }).read(KEY),
      ).rejects.toThrow(/cannot be decrypted/);
      await store.delete(KEY);
      expect(await store.read(KEY)).toBeUndefined();
    },
  );

  it("locks with SET NX PX: one holder at a time, released only by its owner, waiters woken by pub/sub", async () => {
    const a = redisTokenStore({ client, subscriber, prefix: "t3:" });
    // No polling: only the release message wakes it.
    const b = redisTokenStore({ client, subscriber, prefix: "t3:", pollMs: 60_000 });
    const order: string[] = [];
    let release!: () => void;
    let entered!: () => void;
    const aHolds = new Promise<void>((r) => (entered = r));
    const first = a.withLock(KEY, async () => {
      order.push("a in");
      entered();
      await new Promise<void>((r) => (release = r));
      order.push("a out");
    });
    // b asks only once a holds the lock, however slow the machine.
    await aHolds;
    const started = Date.now();
    const second = b.withLock(KEY, async () => void order.push("b in"));
    await new Promise((r) => setTimeout(r, 200));
    expect(order).toEqual(["a in"]);
    // Someone else's release (a wrong owner) does not free it.
    const lockKey = (await client.keys("t3:{*}:lock"))[0]!;
    await client.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0", {
      keys: [lockKey],
      arguments: ["not-the-owner"],
    });
    expect(await client.exists(lockKey)).toBe(1);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(["a in", "a out", "b in"]);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("lets a crashed holder's lock expire after lockTtlMs", async () => {
    const store = redisTokenStore({ client, subscriber, prefix: "t4:", lockTtlMs: 1_000 });
    // A holder that died: its lock stays until its TTL.
    const id = await (async () => {
      await store.withLock(KEY, async () => {});
      return (await client.keys("t4:{*}:fence"))[0]!.slice("t4:".length, -":fence".length);
    })();
    await client.set(`t4:${id}:lock`, "dead-owner", { PX: 1_000 });
    const started = Date.now();
    await store.withLock(KEY, async () => {});
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThan(500);
    expect(waited).toBeLessThan(5_000);
  });

  it("releases a lock whose SET reached Redis only after the store gave up on it", async () => {
    // A client failing over queues commands and sends them to the new master later: this one
    // holds the first SET back past the store's command timeout, then sends it, as node-redis's
    // Sentinel client did in the failover tests. Without a release after it, the lock would hold
    // every other process for its whole TTL.
    let held = false;
    const late = {
      options: client.options,
      sendCommand: async <T>(args: readonly string[]): Promise<T> => {
        if (args[0] === "SET" && !held) {
          held = true;
          await new Promise((r) => setTimeout(r, 600));
        }
        return client.sendCommand([...args]) as Promise<T>;
      },
    };
    const failing = redisTokenStore({
      client: late,
      prefix: "t7:",
      commandTimeoutMs: 200,
      lockTtlMs: 30_000,
      pollMs: 50,
    });
    await expect(failing.withLock(KEY, async () => "ran")).rejects.toThrow(TokenStoreError);
    await new Promise((r) => setTimeout(r, 700));
    const started = Date.now();
    await redisTokenStore({ client, subscriber, prefix: "t7:" }).withLock(KEY, async () => {});
    expect(Date.now() - started).toBeLessThan(5_000);
  });
  it(
    "fences writes: a holder whose lock expired cannot write, nor can it write over a set stored under a later " +
      "lock",
    async () => {
      const slow = redisTokenStore({ client, subscriber, prefix: "t5:", lockTtlMs: 300 });
      const fast = redisTokenStore({ client, subscriber, prefix: "t5:", lockTtlMs: 5_000 });
      let fastDone!: Promise<void>;
      const slowResult = slow.withLock(KEY, async () => {
        await new Promise((r) => setTimeout(r, 400)); // the lock lapses
        fastDone = fast.withLock(KEY, () => fast.write(KEY, { v: 1, accessToken: "newer" }));
        await fastDone;
        return slow.write(KEY, { v: 1, accessToken: "older" });
      });
      await expect(slowResult).rejects.toThrow(TokenStoreError);
      expect(await fast.read(KEY)).toMatchObject({ accessToken: "newer" });
    },
  );

  describe("a fleet of processes signed in as one account (dev server in strict session mode, 2-second tokens)", () => {
    let server: DevServer;
    beforeAll(async () => {
      server = await startDevServer({ accessTokenSeconds: 2, sessionMode: "strict" });
    });
    afterAll(() => server?.close());

    const fleet = (count: number, env: Record<string, string>) =>
      Promise.all(
        Array.from({ length: count }, () =>
          exec(process.execPath, ["--import", "tsx", join(import.meta.dirname, "../support/fleet-worker.ts")], {
            env: { ...process.env, SERVER_URL: server.url, ...env },
            timeout: 120_000,
          }).then(
            ({ stdout }) =>
              JSON.parse(stdout.trim().split("\n").at(-1)!) as {
                ok: number;
                failed: Record<string, number>;
                token: string;
                warnings: string[];
                longestMs: number;
              },
          ),
        ),
      );

    it("shares one token set: no failed call, renewals close to duration / lifetime, one login", async () => {
      await client.flushAll();
      server.resetCounters();
      const results = await fleet(4, { REDIS_URL: redis.url, CALLERS: "10", SECONDS: "8" });
      const failed = results.reduce((n, r) => n + Object.values(r.failed).reduce((a, b) => a + b, 0), 0);
      const ok = results.reduce((n, r) => n + r.ok, 0);
      console.log(
        `fleet with Redis: ${ok} calls ok, ${failed} failed, ${server.counters.logins} logins, ` +
          `${server.counters.renewals} renewals (8 s / 2 s tokens)`,
      );
      expect(failed).toBe(0);
      expect(ok).toBeGreaterThan(100);
      expect(server.counters.logins).toBe(1);
      expect(server.counters.failedRenewals).toBe(0);
      // Renewed at 0.9 of each 2-second lifetime, from 8 s of calls (and process start-up).
      expect(server.counters.renewals).toBeGreaterThanOrEqual(2);
      expect(server.counters.renewals).toBeLessThanOrEqual(8);
    }, 120_000);

    // Per-pair mode here: while Redis is down each process renews on its own, and under strict
    // sessions processes without their coordinator evict each other (the benchmark's "without
    // Redis" figure shows how badly); what is tested is that the fleet rides out the outage.
    it("keeps calls succeeding while Redis restarts mid-run (per-pair sessions), and converges on one token set " +
      "again", async () => {
      await client.flushAll();
      const perPair = await startDevServer({ accessTokenSeconds: 2 });
      const running = fleet(4, { REDIS_URL: redis.url, CALLERS: "10", SECONDS: "10", SERVER_URL: perPair.url });
      // Once the fleet is calling (its processes start slowly under load), not at a fixed time.
      const deadline = Date.now() + 60_000;
      while (perPair.counters.requests < 300 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await redis.restart(2_000); // longer than a token's life: a renewal falls in the outage
      const results = await running;
      onTestFinished(() => perPair.close());
      const failed = results.reduce((n, r) => n + Object.values(r.failed).reduce((a, b) => a + b, 0), 0);
      const ok = results.reduce((n, r) => n + r.ok, 0);
      console.log(
        `fleet with Redis restarted mid-run: ${ok} calls ok, ${failed} failed, ${perPair.counters.logins} ` +
          `logins, ${perPair.counters.renewals} renewals; warnings: ` +
          `${[...new Set(results.flatMap((r) => r.warnings))].join(" | ")}`,
      );
      expect(ok).toBeGreaterThan(100);
      expect(failed).toBe(0);
      expect(results.some((r) => r.warnings.some((w) => /Redis/.test(w)))).toBe(true);
      // The restarted Redis (empty: no persistence) holds the fleet's one set again, and a new
      // process joins it without signing in.
      expect(await client.keys("mlserver-client:{*}:tokens")).toHaveLength(1);
      const logins = perPair.counters.logins;
      const joining = createMlServerClient({
        baseUrl: perPair.url,
        auth: mlServerLogin({ username: "admin", password: "Admin-Pa55word!", store: redisTokenStore({ client }) }),
      });
      expect((await joining.GET("/status")).response.status).toBe(200);
      expect(perPair.counters.logins).toBe(logins);
    }, 120_000);

    it("rides out Redis gone for 10 s mid-run: no failed call, no second sign-in (peers wait for the set " +
      "renewed meanwhile), one set again after", async () => {
      await client.flushAll();
      const perPair = await startDevServer({ accessTokenSeconds: 2 });
      onTestFinished(() => perPair.close());
      const running = fleet(4, {
        REDIS_URL: redis.url,
        CALLERS: "10",
        SECONDS: "18",
        PAUSE_MS: "50",
        SERVER_URL: perPair.url,
      });
      const deadline = Date.now() + 60_000;
      while (perPair.counters.requests < 300 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await redis.restart(10_000); // five token lifetimes: every process renews on its own meanwhile
      const results = await running;
      const failed = results.reduce((n, r) => n + Object.values(r.failed).reduce((a, b) => a + b, 0), 0);
      const { logins, renewals, failedRenewals } = perPair.counters;
      console.log(
        `fleet with Redis gone for 10 s: ${results.reduce((n, r) => n + r.ok, 0)} calls ok, ${failed} failed, ` +
          `${logins} sign-ins, ${renewals} renewals, ${failedRenewals} refused`,
      );
      expect(failed).toBe(0);
      expect(results.every((r) => r.warnings.some((w) => /Redis/.test(w)))).toBe(true);
      // Under rotation the first process to renew ends the pair the others hold: their renewals
      // are refused, and they wait for its set (stored once Redis is back) instead of signing in.
      expect(failedRenewals).toBeGreaterThan(0);
      expect(logins).toBe(1);
      // ...for no longer than the outage and a few polls.
      expect(Math.max(...results.map((r) => r.longestMs))).toBeLessThan(15_000);
      // Back: the fleet converged on one set, and a newcomer joins it without signing in.
      expect(await client.keys("mlserver-client:{*}:tokens")).toHaveLength(1);
      const joining = createMlServerClient({
        baseUrl: perPair.url,
        auth: mlServerLogin({ username: "admin", password: "Admin-Pa55word!", store: redisTokenStore({ client }) }),
      });
      expect((await joining.GET("/status")).response.status).toBe(200);
      expect(perPair.counters.logins).toBe(logins);
    }, 180_000);

    it("with Redis down from the start: a warning, then each process on its own, never a crash", async () => {
      server.resetCounters();
      const down = await startRedis();
      await down.stop();
      // The worker cannot even connect: it runs without a store, as a fleet without Redis would.
      const results = await fleet(1, { CALLERS: "5", SECONDS: "2" });
      expect(results[0]!.ok).toBeGreaterThan(0);
      expect(results[0]!.failed).toEqual({});
      const store = redisTokenStore({
        client: createClient({ url: down.url, socket: { reconnectStrategy: false } }).on("error", () => {}),
        commandTimeoutMs: 300,
      });
      const warnings: string[] = [];
      const listener = (w: Error) => void warnings.push(w.message);
      process.on("warning", listener);
      try {
        const auth = mlServerLogin({ username: "admin", password: "Admin-Pa55word!", store });
        const { response } = await createMlServerClient({ baseUrl: server.url, auth }).GET("/status");
        expect(response.status).toBe(200);
      } finally {
        process.off("warning", listener);
      }
      expect(warnings.some((w) => /Redis/.test(w))).toBe(true);
    }, 180_000);
  });
});
