/**
 * Redis the way production runs it, on loopback ports from Debian's redis-server and
 * redis-sentinel: a cluster of 3 masters and 3 replicas (`redis-cli --cluster create
 * --cluster-replicas 1`), and 1 master, 1 replica and 3 sentinels. Failure detection is set short
 * (1 s) so a failover fits in a test. Each node can be killed with SIGKILL, as a crash would.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { redisServerArgs } from "./daemons.js";
import { freePort } from "./prism.js";

const exec = promisify(execFile);
export const REDIS_SERVER = "/usr/bin/redis-server";
export const REDIS_SENTINEL = "/usr/bin/redis-sentinel";
const REDIS_CLI = "/usr/bin/redis-cli";

interface Node {
  port: number;
  child: ChildProcess;
}

const cli = async (port: number, ...args: string[]) =>
  (await exec(REDIS_CLI, ["-h", "127.0.0.1", "-p", String(port), ...args], { timeout: 10_000 })).stdout.trim();

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function start(program: string, args: string[], port: number): Node {
  const child = spawn(program, args, { stdio: "ignore" });
  return { port, child };
}

async function stopAll(nodes: Node[], dir: string): Promise<void> {
  await Promise.all(
    nodes.map(
      ({ child }) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once("exit", () => resolve());
          child.kill("SIGKILL");
        }),
    ),
  );
  rmSync(dir, { recursive: true, force: true });
}

export interface RedisCluster {
  /** Where node-redis's createCluster starts: every node. */
  rootNodes: { url: string }[];
  /** The port of the master that serves `key`'s slot now. */
  masterFor(key: string): Promise<number>;
  /** SIGKILLs the node on `port` (its replica is promoted after the 1 s node timeout). */
  kill(port: number): void;
  /** Every node stopped (SIGSTOP) for `ms`, then continued: the whole cluster unreachable, no failover. */
  pause(ms: number): Promise<void>;
  stop(): Promise<void>;
}

/** 3 masters and 3 replicas, ready (every slot served) when it resolves. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), "mlserver-client-redis-cluster-"));
  const ports: number[] = [];
  while (ports.length < 6) {
    const port = await freePort();
    // The cluster bus is the port + 10000: it must be free too, and no two nodes may share.
    if (!ports.includes(port) && port + 10000 < 65536) ports.push(port);
  }
  const nodes = ports.map((port) => {
    const own = join(dir, String(port));
    mkdirSync(own);
    // A replica may always take over (validity factor 0): a test kills a master within seconds.
    const cluster = [
      "--cluster-enabled",
      "yes",
      "--cluster-config-file",
      "nodes.conf",
      "--cluster-node-timeout",
      "1000",
      "--cluster-replica-validity-factor",
      "0",
    ];
    return start(REDIS_SERVER, [...redisServerArgs(port, own), ...cluster], port);
  });
  const alive = (port: number) =>
    nodes.some((n) => n.port === port && n.child.exitCode === null && n.child.signalCode === null);
  const healthy = async () => {
    for (const port of ports.filter(alive))
      await until(
        async () => (await cli(port, "cluster", "info")).includes("cluster_state:ok"),
        `cluster state ok on ${port}`,
      );
  };
  try {
    for (const port of ports) await until(async () => (await cli(port, "ping")) === "PONG", `redis on ${port}`);
    await exec(
      REDIS_CLI,
      ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "1", "--cluster-yes"],
      { timeout: 60_000 },
    );
    await healthy();
    // Every replica in sync with its master: one that is not cannot be promoted when it dies.
    for (const port of ports) {
      await until(async () => {
        const info = await cli(port, "info", "replication");
        return (
          info.includes("role:master") ||
          (info.includes("master_link_status:up") && !info.includes("master_sync_in_progress:1"))
        );
      }, `replica on ${port} in sync`);
    }
  } catch (error) {
    await stopAll(nodes, dir);
    throw error;
  }
  return {
    rootNodes: ports.map((port) => ({ url: `redis://127.0.0.1:${port}` })),
    async masterFor(key) {
      const slot = await cli(ports.find(alive)!, "cluster", "keyslot", key);
      // CLUSTER NODES: "<id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slots>..."
      for (const line of (await cli(ports.find(alive)!, "cluster", "nodes")).split("\n")) {
        const [, address, flags, , , , , link, ...ranges] = line.split(" ");
        if (!flags?.includes("master") || flags.includes("fail") || link !== "connected") continue;
        for (const range of ranges) {
          const [from, to = from] = range.split("-").map(Number);
          if (Number(slot) >= from! && Number(slot) <= to!) return Number(address!.split("@")[0]!.split(":")[1]);
        }
      }
      throw new Error(`no master serves slot ${slot}`);
    },
    kill(port) {
      nodes.find((n) => n.port === port)?.child.kill("SIGKILL");
    },
    async pause(ms) {
      for (const { child } of nodes) child.kill("SIGSTOP");
      await new Promise((r) => setTimeout(r, ms));
      for (const { child } of nodes) child.kill("SIGCONT");
      await healthy();
    },
    stop: async () => {
      for (const { child } of nodes) child.kill("SIGCONT");
      await stopAll(nodes, dir);
    },
  };
}

export interface RedisSentinelSet {
  /** Where node-redis's createSentinel starts: the sentinels. */
  sentinelRootNodes: { host: string; port: number }[];
  name: string;
  /** The port of the master the sentinels name now. */
  master(): Promise<number>;
  kill(port: number): void;
  stop(): Promise<void>;
}

/** A master, its replica, and 3 sentinels watching them (quorum 2, down after 1 s). */
export async function startRedisSentinel(): Promise<RedisSentinelSet> {
  const dir = mkdtempSync(join(tmpdir(), "mlserver-client-redis-sentinel-"));
  const name = "mlserver";
  const masterPort = await freePort();
  let replicaPort = await freePort();
  while (replicaPort === masterPort) replicaPort = await freePort();
  const nodes: Node[] = [];
  try {
    for (const port of [masterPort, replicaPort]) mkdirSync(join(dir, String(port)));
    nodes.push(start(REDIS_SERVER, redisServerArgs(masterPort, join(dir, String(masterPort))), masterPort));
    nodes.push(
      start(
        REDIS_SERVER,
        [
          ...redisServerArgs(replicaPort, join(dir, String(replicaPort))),
          "--replicaof",
          "127.0.0.1",
          String(masterPort),
        ],
        replicaPort,
      ),
    );
    await until(
      async () => (await cli(replicaPort, "info", "replication")).includes("master_link_status:up"),
      "the replica's link",
    );
    const sentinels: number[] = [];
    for (let i = 0; i < 3; i++) {
      let port = await freePort();
      while ([masterPort, replicaPort, ...sentinels].includes(port)) port = await freePort();
      const config = join(dir, `sentinel-${port}.conf`);
      // Sentinel rewrites its file as it learns: it must be writable.
      writeFileSync(
        config,
        [
          `port ${port}`,
          "bind 127.0.0.1",
          `dir ${dir}`,
          `sentinel monitor ${name} 127.0.0.1 ${masterPort} 2`,
          `sentinel down-after-milliseconds ${name} 1000`,
          `sentinel failover-timeout ${name} 5000`,
          `sentinel parallel-syncs ${name} 1`,
          "",
        ].join("\n"),
      );
      nodes.push(start(REDIS_SENTINEL, [config], port));
      sentinels.push(port);
    }
    for (const port of sentinels)
      await until(
        async () => (await cli(port, "sentinel", "replicas", name)).includes(String(replicaPort)),
        `sentinel ${port} seeing the replica`,
      );
    return {
      sentinelRootNodes: sentinels.map((port) => ({ host: "127.0.0.1", port })),
      name,
      async master() {
        const answer = await cli(sentinels[0]!, "sentinel", "get-master-addr-by-name", name);
        return Number(answer.split("\n")[1]);
      },
      kill(port) {
        nodes.find((n) => n.port === port)?.child.kill("SIGKILL");
      },
      stop: () => stopAll(nodes, dir),
    };
  } catch (error) {
    await stopAll(nodes, dir);
    throw error;
  }
}
