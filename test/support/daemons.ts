/**
 * Real third-party servers on loopback, for the strategies that must meet them: Apache httpd with
 * mod_auth_digest, and Squid with Basic proxy authentication (Debian's apache2 and squid, which
 * .ci/run installs). Each runs in the foreground from a configuration written to a temporary
 * folder, and is stopped by the test that started it.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "vitest";
import { freePort } from "./prism.js";

export const APACHE = "/usr/sbin/apache2";
export const SQUID = "/usr/sbin/squid";
export const REDIS = "/usr/bin/redis-server";

/** A describe block that needs a program; skipped with the reason where it is missing, failing under CI=true. */
export function describeWithProgram(program: string, name: string, body: () => void): void {
  if (existsSync(program)) describe(name, body);
  else if (process.env.CI === "true") {
    describe(name, () =>
      it(`needs ${program}`, () => {
        throw new Error(`${program} is missing: .ci/run must install it.`);
      }),
    );
  } else
    describe.skip(
      `${name} (skipped: ${program} is not installed; apt-get install apache2 squid redis-server chromium)`,
      body,
    );
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}:\n${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1", () => (socket.end(), resolve(true)));
      socket.on("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`did not listen on ${port} within 20 s:\n${log()}`);
}

/** Starts a daemon in the foreground and waits until it listens; its output and log file explain failures. */
async function launch(
  command: string,
  args: string[],
  port: number,
  logFile: string,
  dir: string,
): Promise<() => Promise<void>> {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  await waitForPort(port, child, () => `${output}\n${existsSync(logFile) ? readFileSync(logFile, "utf8") : ""}`);
  return stopper(child, dir);
}

const logLines = (file: string): string[] =>
  existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").filter(Boolean) : [];

function stopper(child: ChildProcess, dir: string) {
  return () =>
    new Promise<void>((resolve) => {
      const done = () => {
        rmSync(dir, { recursive: true, force: true });
        resolve();
      };
      if (child.exitCode !== null) return done();
      child.once("exit", done);
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 3000).unref();
    });
}

/** A world-readable temporary folder: the daemons drop root for their own users. */
function daemonDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o777);
  return dir;
}

export interface ApacheDigest {
  url: string;
  realm: string;
  /** The access log's lines: `METHOD path status`. */
  requests(): string[];
  stop(): Promise<void>;
}

/**
 * Apache serving `/protected/status` (a JSON file) behind Digest authentication for one user.
 * Nonces live `nonceSeconds`, so stale nonces can be provoked.
 */
export async function startApacheDigest(
  user: { username: string; password: string },
  nonceSeconds = 2,
): Promise<ApacheDigest> {
  const dir = daemonDir("mlserver-client-apache-");
  const port = await freePort();
  const realm = "mlserver-client digest test";
  mkdirSync(join(dir, "www/protected"), { recursive: true, mode: 0o755 });
  writeFileSync(join(dir, "www/protected/status"), JSON.stringify({ statusCode: "pass" }), { mode: 0o644 });
  // The htdigest file format: user:realm:MD5(user:realm:password).
  const ha1 = createHash("md5").update(`${user.username}:${realm}:${user.password}`).digest("hex");
  writeFileSync(join(dir, "digest.pw"), `${user.username}:${realm}:${ha1}\n`, { mode: 0o644 });
  const modules = "/usr/lib/apache2/modules";
  writeFileSync(
    join(dir, "httpd.conf"),
    [
      `ServerRoot "${dir}"`,
      `Listen 127.0.0.1:${port}`,
      `ServerName 127.0.0.1`,
      ...["mpm_event", "authn_core", "authn_file", "authz_core", "authz_user", "auth_digest"].map(
        (m) => `LoadModule ${m}_module ${modules}/mod_${m}.so`,
      ),
      `User www-data`,
      `Group www-data`,
      `PidFile ${dir}/httpd.pid`,
      `DefaultRuntimeDir ${dir}`,
      `ErrorLog ${dir}/error.log`,
      `LogFormat "%m %U%q %>s" short`,
      `CustomLog ${dir}/access.log short`,
      `DocumentRoot ${dir}/www`,
      `ForceType application/json`,
      `<Location /protected>`,
      `  AuthType Digest`,
      `  AuthName "${realm}"`,
      `  AuthDigestDomain /protected/`,
      `  AuthDigestProvider file`,
      `  AuthUserFile ${dir}/digest.pw`,
      `  AuthDigestNonceLifetime ${nonceSeconds}`,
      `  Require valid-user`,
      `</Location>`,
    ].join("\n"),
  );
  const stop = await launch(APACHE, ["-f", join(dir, "httpd.conf"), "-DFOREGROUND"], port, join(dir, "error.log"), dir);
  return { url: `http://127.0.0.1:${port}`, realm, requests: () => logLines(join(dir, "access.log")), stop };
}

export interface SquidProxy {
  url: string;
  /** The access log's lines (method, target, status, user), as Squid wrote them. */
  log(): string[];
  stop(): Promise<void>;
}

/**
 * Squid on loopback, demanding Basic proxy authentication from one user. `hosts` names that Squid
 * (not the client) resolves to 127.0.0.1, so that a test can reach a loopback server through the
 * proxy under a name the client does not treat as loopback.
 */
export async function startSquid(
  user: { username: string; password: string },
  hosts: readonly string[] = [],
): Promise<SquidProxy> {
  const dir = daemonDir("mlserver-client-squid-");
  const port = await freePort();
  writeFileSync(join(dir, "hosts"), hosts.map((h) => `127.0.0.1 ${h}\n`).join(""));
  const hash = execFileSync("openssl", ["passwd", "-apr1", "-stdin"], { input: user.password, timeout: 30_000 })
    .toString()
    .trim();
  writeFileSync(join(dir, "passwd"), `${user.username}:${hash}\n`, { mode: 0o644 });
  writeFileSync(
    join(dir, "squid.conf"),
    [
      `http_port 127.0.0.1:${port}`,
      `hosts_file ${dir}/hosts`,
      `dns_nameservers 127.0.0.1`,
      `auth_param basic program /usr/lib/squid/basic_ncsa_auth ${dir}/passwd`,
      `auth_param basic realm mlserver-client test proxy`,
      `acl authenticated proxy_auth REQUIRED`,
      `http_access allow authenticated`,
      `http_access deny all`,
      `cache deny all`,
      `logformat plain %rm %ru %>Hs %un`,
      `access_log stdio:${dir}/access.log plain`,
      `cache_log ${dir}/cache.log`,
      `pid_filename ${dir}/squid.pid`,
      `coredump_dir ${dir}`,
      `cache_effective_user proxy`,
      `shutdown_lifetime 0 seconds`,
      `logfile_rotate 0`,
    ].join("\n"),
  );
  const stop = await launch(SQUID, ["-N", "-f", join(dir, "squid.conf")], port, join(dir, "cache.log"), dir);
  return { url: `http://127.0.0.1:${port}`, log: () => logLines(join(dir, "access.log")), stop };
}

export interface RedisServer {
  url: string;
  port: number;
  /** Stops the server (its data is not persisted: it comes back empty) and starts it again on the same port. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** The arguments of a redis-server on a loopback port, in the foreground, with no persistence. */
export const redisServerArgs = (port: number, dir: string): string[] => [
  ...["--port", String(port), "--bind", "127.0.0.1", "--dir", dir],
  ...["--save", "", "--appendonly", "no", "--daemonize", "no"],
];

/** redis-server on a loopback port, in the foreground, with no persistence. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const dir = daemonDir("mlserver-client-redis-");
  const args = [...redisServerArgs(port, dir), "--protected-mode", "yes"];
  let stop = await launch(REDIS, args, port, join(dir, "none.log"), dir);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async restart(downMs = 500) {
      mkdirSync(dir, { recursive: true });
      await stop();
      await new Promise((r) => setTimeout(r, downMs));
      mkdirSync(dir, { recursive: true });
      chmodSync(dir, 0o777);
      stop = await launch(REDIS, args, port, join(dir, "none.log"), dir);
    },
    stop: () => stop(),
  };
}
