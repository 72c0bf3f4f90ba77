/**
 * Token stores against the dev server: tokens shared between providers and kept across "runs"
 * (new providers on the same store), one renewal between providers, the store re-read after a 401,
 * private files written atomically, corrupt and foreign entries ignored with one warning, and
 * encryption at rest. The cross-process guarantees are tested through the CLI (cli.test.ts).
 */
import { readdirSync, readFileSync, renameSync, statSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../devserver/server.js";
import {
  createMlServerClient,
  fileTokenStore,
  memoryTokenStore,
  mlServerLogin,
  type MlServerLoginOptions,
  type TokenStore,
} from "../../src/index.js";
import { tempDir } from "../support/tmp.js";

const USER = { username: "admin", password: "Admin-Pa55word!" };
let server: DevServer;

beforeAll(async () => {
  server = await startDevServer({ accessTokenSeconds: 60 });
});
afterAll(() => server.close());

function clientWith(store: TokenStore, options: Partial<MlServerLoginOptions> = {}) {
  const auth = mlServerLogin({ ...USER, store, ...options });
  return { auth, client: createMlServerClient({ baseUrl: server.url, auth }) };
}

/** Node process warnings emitted while `run` runs. */
async function warningsDuring(run: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const listener = (warning: Error) => void seen.push(warning.message);
  process.on("warning", listener);
  try {
    await run();
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off("warning", listener);
  }
  return seen;
}

const entryFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(".json"));

describe("a token store shared by providers", () => {
  it("lets a second provider (a later run) use the first one's tokens without signing in", async () => {
    server.resetCounters();
    const store = memoryTokenStore();
    const first = clientWith(store);
    expect((await first.client.GET("/status")).response.status).toBe(200);
    const second = clientWith(store);
    expect((await second.client.GET("/status")).response.status).toBe(200);
    expect(server.counters.logins).toBe(1);
  });

  it("makes one renewal for concurrent providers whose shared token is due, and none sends a stale pair", async () => {
    server.resetCounters();
    const store = memoryTokenStore();
    await clientWith(store).client.GET("/status");
    // Clocks 55 s ahead: the stored 60-second token is due for each of them.
    const providers = Array.from({ length: 6 }, () => clientWith(store, { clock: () => Date.now() + 55_000 }));
    server.resetCounters();
    const results = await Promise.all(providers.map(({ client }) => client.GET("/status")));
    expect(results.map((r) => r.response.status)).toEqual(Array(6).fill(200));
    // The first renews; the others find its new pair stored (at least a quarter of its life left).
    expect(server.counters.renewals).toBe(1);
    expect(server.counters.failedRenewals).toBe(0);
    expect(server.counters.logins).toBe(0);
  });

  it("after a 401, reads the store before renewing: another provider's renewal is taken, not repeated", async () => {
    const store = memoryTokenStore();
    const a = clientWith(store);
    await a.client.GET("/status");
    // b's clock is 55 s ahead, so it renews at once; the server then refuses a's access token.
    const b = clientWith(store, { clock: () => Date.now() + 55_000 });
    server.resetCounters();
    await b.client.GET("/status");
    expect(server.counters.renewals).toBe(1);
    const before = server.counters.unauthorized;
    expect((await a.client.GET("/status")).response.status).toBe(200);
    expect(server.counters.unauthorized - before).toBe(1);
    expect(server.counters.renewals).toBe(1);
    expect(server.counters.failedRenewals).toBe(0);
  });

  it("signs out what the store holds, even from a provider that never loaded it, and deletes the entry", async () => {
    const dir = await tempDir();
    const store = fileTokenStore({ directory: dir });
    await clientWith(store).client.GET("/status");
    expect(entryFiles(dir)).toHaveLength(1);
    server.resetCounters();
    await clientWith(store).auth.signOut();
    expect(server.counters.revokes).toBe(1);
    expect(entryFiles(dir)).toHaveLength(0);
  });
});

describe("fileTokenStore", () => {
  it("keeps entries in 0600 files in a 0700 directory, replaced by rename, with no temporary file left", async () => {
    const dir = join(await tempDir(), "nested", "cache");
    const store = fileTokenStore({ directory: dir });
    await clientWith(store).client.GET("/status");
    // Due: renewed, the entry replaced.
    await clientWith(store, { clock: () => Date.now() + 55_000 }).client.GET("/status");
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const files = readdirSync(dir);
    expect(files.filter((f) => f.endsWith(".tmp"))).toEqual([]);
    const [file] = entryFiles(dir);
    expect(statSync(join(dir, file!)).mode & 0o777).toBe(0o600);
  });

  it("reports a corrupt entry once, ignores it and signs in afresh", async () => {
    const dir = await tempDir();
    const store = fileTokenStore({ directory: dir });
    await clientWith(store).client.GET("/status");
    const [file] = entryFiles(dir);
    const path = join(dir, file!);
    writeFileSync(path, readFileSync(path, "utf8").slice(0, 40)); // truncated
    server.resetCounters();
    const warnings = await warningsDuring(async () => {
      expect((await clientWith(store).client.GET("/status")).response.status).toBe(200);
    });
    expect(server.counters.logins).toBe(1);
    expect(warnings.filter((w) => w.includes("not valid JSON"))).toHaveLength(1);
    // The fresh sign-in replaced it with a valid entry.
    expect(() => JSON.parse(readFileSync(path, "utf8"))).not.toThrow();
  });

  it("never uses an entry made for another server, account or strategy, even under its name", async () => {
    const dir = await tempDir();
    const store = fileTokenStore({ directory: dir });
    await clientWith(store).client.GET("/status");
    const [file] = entryFiles(dir);
    // The entry of account "other" is planted under the name of admin's entry for the next run.
    const other = mlServerLogin({ username: "other", password: "x", store });
    createMlServerClient({ baseUrl: server.url, auth: other }); // binds it, so its key is known
    const entry = JSON.parse(readFileSync(join(dir, file!), "utf8")) as { key: { account: string } };
    entry.key.account = "other";
    writeFileSync(join(dir, file!), JSON.stringify(entry), { mode: 0o600 });
    server.resetCounters();
    const warnings = await warningsDuring(async () => {
      expect((await clientWith(store).client.GET("/status")).response.status).toBe(200);
    });
    expect(server.counters.logins).toBe(1);
    expect(warnings.some((w) => w.includes("belongs to another server, account or strategy"))).toBe(true);
  });

  it("ignores an entry that other users may read", async () => {
    const dir = await tempDir();
    const store = fileTokenStore({ directory: dir });
    await clientWith(store).client.GET("/status");
    const [file] = entryFiles(dir);
    const { chmodSync } = await import("node:fs");
    chmodSync(join(dir, file!), 0o644);
    server.resetCounters();
    const warnings = await warningsDuring(() => clientWith(store).client.GET("/status"));
    expect(server.counters.logins).toBe(1);
    expect(warnings.some((w) => w.includes("readable or writable by other users"))).toBe(true);
  });

  it(
    "encrypts entries with AES-256-GCM when a key is set: no token in the file, and a wrong key or a moved " +
      "entry is ignored",
    async () => {
      const dir = await tempDir();
      const key = Buffer.alloc(32, 7).toString("base64");
      const store = fileTokenStore({ directory: dir, encryptionKey: key });
      const { auth, client } = clientWith(store);
      await client.GET("/status");
      const { accessToken } = await auth.getAccessToken();
      const [file] = entryFiles(dir);
      const text = readFileSync(join(dir, file!), "utf8");
      expect(text).not.toContain(accessToken);
      expect(text).not.toContain(accessToken.split(".")[1]!);
      expect(JSON.parse(text)).toMatchObject({ v: 1, sealed: { alg: "A256GCM" } });

      server.resetCounters();
      await clientWith(fileTokenStore({ directory: dir, encryptionKey: key })).client.GET("/status");
      expect(server.counters.logins).toBe(0);

      const wrong = fileTokenStore({ directory: dir, encryptionKey: Buffer.alloc(32, 8) });
      const warnings = await warningsDuring(() => clientWith(wrong).client.GET("/status"));
      expect(server.counters.logins).toBe(1);
      expect(warnings.some((w) => w.includes("cannot be decrypted"))).toBe(true);

      // The sealed entry of one key, moved to another key's file, fails its authentication tag.
      const otherDir = await tempDir();
      const other = fileTokenStore({ directory: otherDir, encryptionKey: key });
      await clientWith(other, { username: "admin" }).client.GET("/status");
      const alice = mlServerLogin({ username: "alice", password: "x", store: other });
      createMlServerClient({ baseUrl: server.url, auth: alice });
      const [adminFile] = entryFiles(otherDir);
      const sealed = JSON.parse(readFileSync(join(otherDir, adminFile!), "utf8")) as { key: { account: string } };
      sealed.key.account = "alice";
      writeFileSync(join(otherDir, "moved.json"), JSON.stringify(sealed), { mode: 0o600 });
      const aliceFile = await (async () => {
        const before = new Set(entryFiles(otherDir));
        await other.write({ origin: server.url, account: "alice", strategy: "ml-server-login" }, {});
        return entryFiles(otherDir).find((f) => !before.has(f))!;
      })();
      renameSync(join(otherDir, "moved.json"), join(otherDir, aliceFile));
      expect(await other.read({ origin: server.url, account: "alice", strategy: "ml-server-login" })).toBeUndefined();
    },
  );

  it("opens a sealed entry only with its whole 16-byte tag: a tag cut to 4 bytes is a forgery's way in", async () => {
    const dir = await tempDir();
    const key = Buffer.alloc(32, 9).toString("base64");
    const entry = { origin: server.url, account: "admin", strategy: "ml-server-login" };
    const store = fileTokenStore({ directory: dir, encryptionKey: key });
    await store.write(entry, { accessToken: "a", expiresAt: 1 });
    expect(await store.read(entry)).toEqual({ accessToken: "a", expiresAt: 1 });
    const [file] = entryFiles(dir);
    const sealed = JSON.parse(readFileSync(join(dir, file!), "utf8")) as { sealed: { tag: string } };
    sealed.sealed.tag = Buffer.from(sealed.sealed.tag, "base64url").subarray(0, 4).toString("base64url");
    writeFileSync(join(dir, file!), JSON.stringify(sealed), { mode: 0o600 });
    const fresh = fileTokenStore({ directory: dir, encryptionKey: key });
    const warnings = await warningsDuring(async () => expect(await fresh.read(entry)).toBeUndefined());
    expect(warnings.some((w) => w.includes("cannot be decrypted"))).toBe(true);
  });

  it(
    "refuses at once a symbolic link (dangling or not) or a file at an entry's lock path, and an oversized " +
      "entry unread",
    async () => {
      const dir = await tempDir();
      const entry = { origin: server.url, account: "admin", strategy: "ml-server-login" };
      // A lock timeout longer than the test's: waiting for it would fail the test.
      const store = fileTokenStore({ directory: dir, lockTimeoutMs: 600_000 });
      await store.write(entry, { accessToken: "a", expiresAt: 1 });
      const [file] = entryFiles(dir);
      const lockPath = join(dir, `${file}.lock`);
      symlinkSync(join(dir, "nowhere"), lockPath);
      await expect(store.withLock(entry, async () => "ran")).rejects.toMatchObject({
        code: "ERR_TOKEN_STORE",
        message: expect.stringContaining(`${lockPath} is a symbolic link, not a lock this library made: remove it`),
      });
      unlinkSync(lockPath);
      writeFileSync(lockPath, "planted");
      await expect(store.withLock(entry, async () => "ran")).rejects.toThrow(/is a file, not a lock/);
      unlinkSync(lockPath);
      expect(await store.withLock(entry, async () => "ran")).toBe("ran");

      writeFileSync(join(dir, file!), `{"v":1,"pad":"${"x".repeat(2 * 1024 * 1024)}"}`, { mode: 0o600 });
      const warnings = await warningsDuring(async () =>
        expect(await fileTokenStore({ directory: dir }).read(entry)).toBeUndefined(),
      );
      expect(warnings.some((w) => /more than a token set can be/.test(w))).toBe(true);
      // An entry that is a symbolic link is not followed.
      unlinkSync(join(dir, file!));
      writeFileSync(
        join(dir, "elsewhere.json"),
        JSON.stringify({ v: 1, key: entry, value: { accessToken: "planted", expiresAt: 1 } }),
        { mode: 0o600 },
      );
      symlinkSync(join(dir, "elsewhere.json"), join(dir, file!));
      expect(await fileTokenStore({ directory: dir }).read(entry)).toBeUndefined();
    },
  );

  it("refuses a malformed encryption key with a message that says what a key looks like", async () => {
    const store = fileTokenStore({ directory: await tempDir(), encryptionKey: "too-short" });
    await expect(store.write({ origin: "o", account: "a", strategy: "s" }, {})).rejects.toThrow(/32 bytes/);
  });
});

describe("redisTokenStore without an encryption key", () => {
  it(
    "warns once at construction when its Redis is not on loopback, and not when a key is set or the Redis is " +
      "local",
    async () => {
      const { createClient } = await import("redis");
      const { redisTokenStore } = await import("../../src/index.js");
      // Real node-redis clients, never connected: the warning comes from their options alone.
      const remote = createClient({ url: "redis://redis.fleet.internal:6379" });
      const warned = await warningsDuring(async () => void redisTokenStore({ client: remote }));
      expect(warned).toEqual([
        expect.stringMatching(
          /unencrypted in the Redis at redis\.fleet\.internal: anyone who can read it can use them, and anyone /,
        ),
      ]);
      expect(
        await warningsDuring(
          async () =>
            void redisTokenStore({
              client: createClient({ url: "redis://redis.other.internal:6379" }),
              encryptionKey: Buffer.alloc(32, 1),
            }),
        ),
      ).toEqual([]);
      expect(
        await warningsDuring(
          async () => void redisTokenStore({ client: createClient({ url: "redis://127.0.0.1:6379" }) }),
        ),
      ).toEqual([]);
    },
  );
});
