/**
 * The `mlserver` binary as users get it (installed from the packed tarball), run in child processes
 * against the dev server: sign in once and reuse the cache, revoke on logout, recover from a
 * corrupt entry, private file modes, one renewal for 8 parallel runs, a run killed while holding
 * the lock, the device-code sign-in prompted once across runs, and complete help.
 */
import { createHash } from "node:crypto";
import { spawn } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../devserver/server.js";
import {
  azureAdSettings,
  RESOURCE,
  selfSignedCertificate,
  startTestAuthority,
  type TestAuthority,
} from "../support/authority.js";
import { installPacked, type PackedInstall } from "../support/packed.js";
import { TEST_PYTHON } from "../support/python.js";
import { rMissing } from "../support/r.js";
import { tempDir } from "../support/tmp.js";

const PASSWORD = "Admin-Pa55word!";
let installed: PackedInstall;
let server: DevServer;

beforeAll(async () => {
  installed = await installPacked(await tempDir("mlserver-client-cli-"));
  server = await startDevServer({ accessTokenSeconds: 60 });
}, 300_000);
afterAll(() => server?.close());

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** A home of its own for each test: cache and config in it, no MLSERVER_* variable inherited. */
async function home() {
  const dir = await tempDir("mlserver-cli-home-");
  const cache = join(dir, "cache");
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("MLSERVER_") && k !== "NO_COLOR"),
  );
  Object.assign(env, {
    HOME: dir,
    XDG_CACHE_HOME: join(dir, "xdg-cache"),
    XDG_CONFIG_HOME: join(dir, "xdg-config"),
    MLSERVER_CACHE_DIR: cache,
  });
  const entries = () => (existsSync(cache) ? readdirSync(cache).filter((f) => f.endsWith(".json")) : []);
  return { dir, cache, env, entries };
}

type Home = Awaited<ReturnType<typeof home>>;

function mlserver(
  h: Home,
  args: string[],
  options: {
    stdin?: string;
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    onStderr?: (text: string) => void;
    onSpawn?: (pid: number) => void;
  } = {},
): Promise<Run> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(installed.bin, args, {
      cwd: options.cwd ?? installed.project,
      env: { ...h.env, ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d;
      options.onStderr?.(stderr);
    });
    child.on("error", reject);
    child.on("spawn", () => options.onSpawn?.(child.pid!));
    child.stdin.end(options.stdin ?? "");
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr, ms: performance.now() - started }));
  });
}

const login = (h: Home, extra: string[] = []) =>
  mlserver(h, ["login", "--server", server.url, "--username", "admin", "--password-stdin", ...extra], {
    stdin: `${PASSWORD}\n`,
  });

/** Makes the cached access token look expired to the client (the server's copy stays valid). */
function expireCachedToken(h: Home): void {
  const [file] = h.entries();
  const path = join(h.cache, file!);
  const entry = JSON.parse(readFileSync(path, "utf8")) as { value: { expiresAt: number; obtainedAt: number } };
  entry.value.expiresAt = Date.now() - 1_000;
  entry.value.obtainedAt = Date.now() - 61_000;
  writeFileSync(path, JSON.stringify(entry), { mode: 0o600 });
}

describe("mlserver, installed from the packed tarball", () => {
  it("signs in once; a later run reuses the cached token with no login request", async () => {
    const h = await home();
    server.resetCounters();
    const first = await login(h);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`Signed in to ${server.url} as admin`);
    expect(server.counters.logins).toBe(1);
    const token = await mlserver(h, ["token"]);
    expect(token.code, token.stderr).toBe(0);
    expect(token.stdout.trim()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const status = await mlserver(h, ["status", "--json"]);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      profile: "default",
      server: server.url,
      auth: "login",
      account: "admin",
      signedIn: true,
      health: { statusCode: "pass" },
    });
    expect(server.counters.logins).toBe(1);
    expect(server.counters.renewals).toBe(0);
    // Nothing on stdout or stderr holds the password; only `token` prints the token.
    for (const run of [first, status]) expect(run.stdout + run.stderr).not.toContain(PASSWORD);
    expect(first.stdout + first.stderr + status.stdout + status.stderr).not.toContain(token.stdout.trim());
  });

  it("keeps the cache private: a 0700 directory of 0600 files, and the config file holds no secret", async () => {
    const h = await home();
    expect((await login(h)).code).toBe(0);
    expect(statSync(h.cache).mode & 0o777).toBe(0o700);
    const files = readdirSync(h.cache);
    expect(files.filter((f) => f.endsWith(".tmp"))).toEqual([]);
    for (const file of h.entries()) expect(statSync(join(h.cache, file)).mode & 0o777).toBe(0o600);
    const config = readFileSync(join(h.dir, "xdg-config", "mlserver-client", "config.json"), "utf8");
    expect(JSON.parse(config)).toEqual({
      profiles: { default: { server: server.url, auth: "login", username: "admin" } },
      defaultProfile: "default",
    });
    expect(config).not.toContain(PASSWORD);
  });

  it(
    "logout revokes the session on the server, then deletes the cached entry; the next run must sign in again " +
      "(exit 3)",
    async () => {
      const h = await home();
      expect((await login(h)).code).toBe(0);
      server.resetCounters();
      const out = await mlserver(h, ["logout"]);
      expect(out.code, out.stderr).toBe(0);
      expect(server.counters.revokes).toBe(1);
      expect(h.entries()).toEqual([]);
      const after = await mlserver(h, ["token"]);
      expect(after.code).toBe(3);
      expect(after.stderr).toMatch(/^mlserver: Not signed in to .* run `mlserver login`/);
      expect(after.stdout).toBe("");
    },
  );

  it("recovers from a corrupt cache entry: one warning, a fresh sign-in, a valid entry again", async () => {
    const h = await home();
    expect((await login(h)).code).toBe(0);
    const [file] = h.entries();
    writeFileSync(join(h.cache, file!), '{"v":1,"key":', { mode: 0o600 });
    server.resetCounters();
    const run = await mlserver(h, ["token"], { env: { MLSERVER_PASSWORD: PASSWORD } });
    expect(run.code, run.stderr).toBe(0);
    expect(server.counters.logins).toBe(1);
    expect(run.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(
        /^mlserver: warning: Ignoring the cached tokens for ml-server-login "admin" at .*: it is not valid JSON/,
      ),
    ]);
    expect(() => JSON.parse(readFileSync(join(h.cache, file!), "utf8"))).not.toThrow();
  });

  it("8 parallel runs with an expired access token make exactly 1 renewal, and all print the new token", async () => {
    const h = await home();
    expect((await login(h)).code).toBe(0);
    expireCachedToken(h);
    server.resetCounters();
    // No password in the environment: a run that tried to sign in instead would fail.
    const runs = await Promise.all(Array.from({ length: 8 }, () => mlserver(h, ["token"])));
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    expect(server.counters.renewals).toBe(1);
    expect(server.counters.failedRenewals).toBe(0);
    expect(server.counters.logins).toBe(0);
    expect(new Set(runs.map((r) => r.stdout.trim())).size).toBe(1);
    // The token they print works: the rotation did not leave anyone with a dead pair.
    const status = await mlserver(h, ["status"]);
    expect(status.code, status.stderr).toBe(0);
  }, 180_000);

  it("a run killed with SIGKILL while holding the lock does not block the next beyond the stale timeout " +
    "(10 s)", async () => {
    const h = await home();
    expect((await login(h)).code).toBe(0);
    expireCachedToken(h);
    // The renewal hangs on the server, so the first run is inside its lock when it is killed.
    server.faults.push({ route: "POST /login/refreshToken", kind: "delay", delayMs: 20_000, times: 1 });
    server.resetCounters();
    let pid = 0;
    const killed = mlserver(h, ["token"], { onSpawn: (p) => (pid = p) });
    await waitFor(() => server.counters.faultsInjected === 1, 20_000);
    expect(readdirSync(h.cache).some((f) => f.endsWith(".lock"))).toBe(true);
    process.kill(pid, "SIGKILL");
    expect((await killed).signal).toBe("SIGKILL");
    const next = await mlserver(h, ["token"], { env: { MLSERVER_PASSWORD: PASSWORD } });
    expect(next.code, next.stderr).toBe(0);
    expect(next.stdout.trim()).not.toBe("");
    console.log(`next run after a SIGKILLed lock holder: ${Math.round(next.ms)} ms (stale timeout 10 s)`);
    expect(next.ms).toBeLessThan(10_000 + 10_000);
  }, 180_000);

  it("answers usage errors with exit 2 and one line, and not-found with exit 4", async () => {
    const h = await home();
    const bad = await mlserver(h, ["services", "frobnicate"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect((await mlserver(h, ["login", "--server", server.url, "--username", "admin", "--password", "x"])).code).toBe(
      2,
    ); // no secret flags
    expect((await login(h)).code).toBe(0);
    const missing = await mlserver(h, ["services", "get", "nope", "1.0", "--json"]);
    expect(missing.code).toBe(4);
    expect(JSON.parse(missing.stderr)).toMatchObject({ error: { code: "ERR_NOT_FOUND", exitCode: 4 } });
  });

  it("every exit code docs/cli.md lists, each met through the installed binary", async () => {
    const documented = /- Exit codes: ([\s\S]*?)\n- /.exec(
      readFileSync(join(import.meta.dirname, "../../docs/cli.md"), "utf8"),
    )![1]!;
    const codes = [...documented.matchAll(/(?:^|, )(\d+) /g)].map((m) => Number(m[1]));
    expect(codes).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 130]);
    const h = await home();
    const met = new Map<number, string>();
    const check = async (code: number, args: string[], options: { stdin?: string } = {}) => {
      const run = await mlserver(h, args, options);
      expect(run.code, `${args.join(" ")}: ${run.stderr}`).toBe(code);
      met.set(code, args.join(" "));
    };
    await check(3, ["login", "--server", server.url, "--username", "admin", "--password-stdin"], {
      stdin: "wrong-password\n",
    });
    await check(0, ["login", "--server", server.url, "--username", "admin", "--password-stdin"], {
      stdin: `${PASSWORD}\n`,
    });
    await check(2, ["services", "frobnicate"]);
    await check(4, ["services", "get", "no-such-service", "1.0"]);
    writeFileSync(join(h.dir, "fails.py"), "raise ValueError('on purpose')\n");
    writeFileSync(join(h.dir, "ok.py"), "y = 1\n");
    await check(5, ["run", join(h.dir, "fails.py"), "--get-file", "never.txt"]);
    const publish = ["services", "publish", "exit-codes", "1.0", "--code", join(h.dir, "ok.py")];
    await check(0, [...publish, "--outputs", '{"y":"numeric"}']);
    // Another failure of the server's refusing (409: the name and version exist) is 1.
    await check(1, [...publish, "--outputs", '{"y":"numeric"}']);
    // Nothing listens on port 9 (discard); signing in there meets the network, not a cached session.
    const unreachable = [
      "login",
      "--profile",
      "nowhere",
      "--server",
      "http://127.0.0.1:9",
      "--username",
      "admin",
      "--password-stdin",
    ];
    await check(6, unreachable, { stdin: `${PASSWORD}\n` });
    // 7 and 130 need a hostile server and a terminal: cli-hostile-server.test.ts ("refuses ... with
    // exit 7") and the Ctrl-C tests of this file meet them through the same binary.
    expect([...met.keys()].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it("publishes, consumes and runs a CSV batch, with plain progress lines on stderr when stdout is not a " +
    "terminal", async () => {
    const h = await home();
    expect((await login(h)).code).toBe(0);
    writeFileSync(join(h.dir, "double.py"), "y = x * 2\n");
    writeFileSync(join(h.dir, "inputs.csv"), 'x\n1\n2.5\n"4"\n');
    const publish = await mlserver(h, [
      "services",
      "publish",
      "cli-double",
      "1.0",
      "--code",
      join(h.dir, "double.py"),
      "--inputs",
      '{"x":"numeric"}',
      "--outputs",
      '{"y":"numeric"}',
    ]);
    expect(publish.code, publish.stderr).toBe(0);
    const consume = await mlserver(h, ["services", "consume", "cli-double", "1.0", "--inputs", '{"x":21}', "--json"]);
    expect(JSON.parse(consume.stdout)).toMatchObject({ outputs: { y: 42 } });
    const batch = await mlserver(h, [
      "services",
      "batch",
      "cli-double",
      "1.0",
      "--file",
      join(h.dir, "inputs.csv"),
      "--json",
    ]);
    expect(batch.code, batch.stderr).toBe(0);
    expect(JSON.parse(batch.stdout)).toMatchObject({
      total: 3,
      failed: 0,
      results: [{ outputs: { y: 2 } }, { outputs: { y: 5 } }, { outputs: { y: 8 } }],
    });
    expect(batch.stderr).toMatch(/cli-double 1\.0: 3\/3\n/);
    const list = await mlserver(h, ["services", "list"]);
    expect(list.stdout).toMatch(/^NAME\s+VERSION/);
    expect(list.stdout).not.toContain("\x1b["); // no colour when stdout is not a terminal
    expect((await mlserver(h, ["services", "delete", "cli-double", "1.0"])).code).toBe(0);
  }, 180_000);

  it("has complete help: every command and subcommand, the settings and the exit codes", async () => {
    const h = await home();
    const help = await mlserver(h, ["--help"]);
    expect(help.code).toBe(0);
    for (const text of [
      "mlserver login",
      "mlserver logout",
      "mlserver token",
      "mlserver status",
      "--device-code",
      "--client-credentials",
      "--password-stdin",
      ...["list", "get", "publish", "consume", "batch", "delete", "swagger"].map((s) => `mlserver services ${s}`),
      "mlserver generate",
      "mlserver devserver",
      "MLSERVER_PASSWORD",
      "MLSERVER_TOKEN_CACHE_KEY",
      "Exit codes",
      "--json",
    ]) {
      expect(help.stdout).toContain(text);
    }
    for (const command of ["login", "logout", "token", "status", "services"]) {
      const one = await mlserver(h, [command, "--help"]);
      expect(one.code).toBe(0);
      expect(one.stdout).toContain(`mlserver ${command}`);
      expect(one.stdout).toContain("Exit codes");
    }
  });
});

describe("mlserver login --device-code against the test authority", () => {
  let authority: TestAuthority;
  let aadServer: DevServer;
  beforeAll(async () => {
    authority = await startTestAuthority();
    aadServer = await startDevServer({ azureActiveDirectory: azureAdSettings(authority) });
  }, 180_000);
  afterAll(async () => {
    await aadServer?.close();
    await authority?.close();
  });

  it("prompts once; the next run uses MSAL's cache from the token store, with no prompt and no new device " +
    "code", async () => {
    const h = await home();
    const ca = join(h.dir, "authority-ca.pem");
    mkdirSync(h.dir, { recursive: true });
    writeFileSync(ca, authority.ca);
    let approved = false;
    const first = await mlserver(
      h,
      [
        "login",
        "--device-code",
        "--server",
        aadServer.url,
        "--authority",
        authority.issuer,
        "--client-id",
        authority.clients.device.clientId,
        "--resource",
        RESOURCE,
        "--ca",
        ca,
      ],
      {
        onStderr(text) {
          const code = /enter the code (\S+)/.exec(text)?.[1];
          if (code && !approved) {
            approved = true;
            void authority.approveDevice(code);
          }
        },
      },
    );
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr.match(/To sign in, open/g)).toHaveLength(1);
    const deviceGrants = authority.tokenRequests["urn:ietf:params:oauth:grant-type:device_code"];
    expect(deviceGrants).toBe(1);

    const second = await mlserver(h, ["status", "--json"]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).not.toContain("To sign in");
    expect(JSON.parse(second.stdout)).toMatchObject({ auth: "device-code", signedIn: true });
    expect(authority.tokenRequests["urn:ietf:params:oauth:grant-type:device_code"]).toBe(1);
  }, 180_000);
});

describe("real deployments: plain HTTP, paths that hold from cron, a config file nobody else wrote, exit codes", () => {
  let deployed: DevServer;
  const preload = join(import.meta.dirname, "../support/hosts-preload.mjs");
  // The dev server reached as http://mlserver.test:<port>: plain HTTP to a name that is not loopback,
  // as ML Server's default install is reached (the name resolves to 127.0.0.1 in the child only).
  const plainUrl = () => `http://mlserver.test:${deployed.port}`;
  const remote = { NODE_OPTIONS: `--import ${preload}` };
  beforeAll(async () => {
    deployed = await startDevServer({
      accessTokenSeconds: 60,
      allowedHosts: ["mlserver.test"],
      python: TEST_PYTHON,
      executionLimits: { parallelCount: 1 },
    });
  });
  afterAll(() => deployed?.close());

  it(
    "refuses plain HTTP beyond loopback naming the flag; --allow-insecure-http signs in, is remembered, and " +
      "warns on each run unless --quiet",
    async () => {
      const h = await home();
      const refused = await mlserver(h, ["login", "--server", plainUrl(), "--username", "admin", "--password-stdin"], {
        stdin: `${PASSWORD}\n`,
        env: remote,
      });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(
        /http:\/\/mlserver\.test:\d+ is plain HTTP: .* --allow-insecure-http \(or MLSERVER_ALLOW_INSECURE_HTTP=1\)/,
      );
      expect(deployed.counters.logins).toBe(0);

      const allowed = await mlserver(
        h,
        ["login", "--server", plainUrl(), "--username", "admin", "--password-stdin", "--allow-insecure-http"],
        { stdin: `${PASSWORD}\n`, env: remote },
      );
      expect(allowed.code, allowed.stderr).toBe(0);
      const warning = new RegExp(
        String.raw`^mlserver: warning: sending credentials to http://mlserver\.test:\d+ over plain HTTP ` +
          String.raw`\(--allow-insecure-http\): anyone on the network path can read and replay them\.$`,
        "m",
      );
      expect(allowed.stderr).toMatch(warning);
      expect(allowed.stderr.match(/warning:/g)).toHaveLength(1);
      const config = JSON.parse(readFileSync(join(h.env.XDG_CONFIG_HOME!, "mlserver-client", "config.json"), "utf8"));
      expect(config.profiles.default).toMatchObject({ server: plainUrl(), allowInsecureHttp: true });

      const later = await mlserver(h, ["status", "--json"], { env: remote });
      expect(later.code, later.stderr).toBe(0);
      expect(later.stderr).toMatch(warning);
      const quiet = await mlserver(h, ["status", "--quiet"], { env: remote });
      expect(quiet.code, quiet.stderr).toBe(0);
      expect(quiet.stderr).toBe("");

      // The variable, for a run with no saved profile (cron with settings in its environment).
      const fresh = await home();
      const byEnv = await mlserver(fresh, ["token"], {
        env: {
          ...remote,
          MLSERVER_SERVER: plainUrl(),
          MLSERVER_USERNAME: "admin",
          MLSERVER_PASSWORD: PASSWORD,
          MLSERVER_ALLOW_INSECURE_HTTP: "1",
        },
      });
      expect(byEnv.code, byEnv.stderr).toBe(0);
      expect(byEnv.stderr).toMatch(warning);
    },
  );

  it(
    "saves --ca as an absolute path, checked at login, so later runs from elsewhere (cron runs from $HOME) " +
      "find it",
    async () => {
      const tls = selfSignedCertificate();
      const tlsServer = await startDevServer({ tls });
      try {
        const h = await home();
        mkdirSync(join(h.dir, "certs"), { recursive: true });
        writeFileSync(join(h.dir, "certs", "server.pem"), tls.cert);
        const signedIn = await mlserver(
          h,
          ["login", "--server", tlsServer.url, "--username", "admin", "--password-stdin", "--ca", "certs/server.pem"],
          { cwd: h.dir, stdin: `${PASSWORD}\n` },
        );
        expect(signedIn.code, signedIn.stderr).toBe(0);
        const config = JSON.parse(readFileSync(join(h.env.XDG_CONFIG_HOME!, "mlserver-client", "config.json"), "utf8"));
        expect(config.profiles.default.ca).toBe(join(h.dir, "certs", "server.pem"));
        // From another directory, as cron runs: the saved path still holds.
        const elsewhere = await mlserver(h, ["status", "--json"], { cwd: "/" });
        expect(elsewhere.code, elsewhere.stderr).toBe(0);

        const missing = await mlserver(
          h,
          ["login", "--server", tlsServer.url, "--username", "admin", "--password-stdin", "--ca", "certs/nowhere.pem"],
          { cwd: h.dir, stdin: `${PASSWORD}\n` },
        );
        expect(missing.code).toBe(2);
        expect(missing.stderr).toContain(
          `--ca (or MLSERVER_CA) names ${join(h.dir, "certs", "nowhere.pem")}, which cannot be read (ENOENT)`,
        );
        writeFileSync(join(h.dir, "certs", "junk.pem"), "not a certificate");
        const junk = await mlserver(
          h,
          ["login", "--server", tlsServer.url, "--username", "admin", "--password-stdin", "--ca", "certs/junk.pem"],
          { cwd: h.dir, stdin: `${PASSWORD}\n` },
        );
        expect(junk.code).toBe(2);
        expect(junk.stderr).toContain("holds no PEM certificate");
      } finally {
        await tlsServer.close();
      }
    },
  );

  it(
    "a config file (or its folder) that others can write or another user owns is refused, naming it " + "and why",
    async () => {
      const h = await home();
      expect((await login(h)).code).toBe(0);
      const dir = join(h.env.XDG_CONFIG_HOME!, "mlserver-client");
      const file = join(dir, "config.json");
      chmodSync(file, 0o666);
      const writable = await mlserver(h, ["status"]);
      expect(writable.code).toBe(2);
      expect(writable.stderr).toContain(
        `The config file ${file} can be written by any user; it decides where your password goes. Run chmod go-w`,
      );
      chmodSync(file, 0o600);
      chmodSync(dir, 0o770);
      const group = await mlserver(h, ["status"]);
      expect(group.code).toBe(2);
      expect(group.stderr).toContain(`The config directory ${dir} can be written by its group`);
      chmodSync(dir, 0o700);
      expect((await mlserver(h, ["status"])).code).toBe(0);
      if (process.getuid?.() === 0) {
        chownSync(file, 65534, 65534);
        const foreign = await mlserver(h, ["status"]);
        expect(foreign.code).toBe(2);
        expect(foreign.stderr).toContain(`The config file ${file} belongs to another user (uid 65534)`);
      }
    },
  );

  it(
    "an unreachable server or authority is exit 6 for every command; an untrusted certificate names " + "--ca",
    async () => {
      const h = await home();
      const refused = await mlserver(
        h,
        ["login", "--server", "http://127.0.0.1:1", "--username", "admin", "--password-stdin"],
        { stdin: `${PASSWORD}\n` },
      );
      expect(refused.code, refused.stderr).toBe(6);
      const unknownHost = await mlserver(
        h,
        ["login", "--server", "https://mlserver.invalid:12800", "--username", "admin", "--password-stdin"],
        { stdin: `${PASSWORD}\n` },
      );
      expect(unknownHost.code, unknownHost.stderr).toBe(6);
      for (const command of ["token", "status"]) {
        const run = await mlserver(h, [command], {
          env: { MLSERVER_SERVER: "http://127.0.0.1:1", MLSERVER_USERNAME: "admin", MLSERVER_PASSWORD: PASSWORD },
        });
        expect(run.code, `${command}: ${run.stderr}`).toBe(6);
      }
      // logout with a cached session whose server has gone: signed out here, and 6 for the revoke.
      const gone = await startDevServer();
      const signedIn = await mlserver(h, ["login", "--server", gone.url, "--username", "admin", "--password-stdin"], {
        stdin: `${PASSWORD}\n`,
      });
      expect(signedIn.code, signedIn.stderr).toBe(0);
      await gone.close();
      const logout = await mlserver(h, ["logout"]);
      expect(logout.code, logout.stderr).toBe(6);
      expect(logout.stderr).toContain("Signed out locally, but the refresh token could not be revoked on the server");
      expect(h.entries()).toEqual([]);
      const tlsServer = await startDevServer({ tls: selfSignedCertificate() });
      try {
        const untrusted = await mlserver(
          h,
          ["login", "--server", tlsServer.url, "--username", "admin", "--password-stdin", "--profile", "tls"],
          { stdin: `${PASSWORD}\n` },
        );
        expect(untrusted.code, untrusted.stderr).toBe(6);
        expect(untrusted.stderr).toMatch(
          /certificate was not trusted \(\w+\): give its CA with --ca <pem file> \(or MLSERVER_CA\)/,
        );
      } finally {
        await tlsServer.close();
      }
    },
  );

  describe("batches you can stop and find again", () => {
    let h: Home;
    const bearer = async () =>
      (
        (await (
          await fetch(`${deployed.url}/login`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ username: "admin", password: PASSWORD }),
          })
        ).json()) as {
          access_token: string;
        }
      ).access_token;
    beforeAll(async () => {
      h = await home();
      const signedIn = await mlserver(
        h,
        ["login", "--server", deployed.url, "--username", "admin", "--password-stdin"],
        { stdin: `${PASSWORD}\n` },
      );
      expect(signedIn.code, signedIn.stderr).toBe(0);
      const token = await bearer();
      for (const [name, code] of [
        ["slow", "import time\ntime.sleep(0.3)\ny = x"],
        ["quick", "y = x * 2"],
      ]) {
        const published = await fetch(`${deployed.url}/services/${name}/1`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({
            runtimeType: "Python",
            code,
            inputParameterDefinitions: [{ name: "x", type: "integer" }],
            outputParameterDefinitions: [{ name: "y", type: "integer" }],
          }),
        });
        expect(published.status).toBe(201);
      }
      writeFileSync(join(h.dir, "rows.csv"), ["x", ...Array.from({ length: 40 }, (_, i) => String(i + 1))].join("\n"));
      writeFileSync(join(h.dir, "wrong.csv"), "z\n1\n");
    });

    /**
     * A slow 40-row batch through the CLI: `onStart(pid)` once its id is printed, `onLater` on each later stderr chunk.
     */
    async function slowBatch(
      onStart: (pid: number) => void,
      onLater?: (stderr: string, pid: number) => void,
    ): Promise<{ run: Run; id: string | undefined }> {
      let id: string | undefined;
      let pid = 0;
      const run = await mlserver(h, ["services", "batch", "slow", "1", "--file", join(h.dir, "rows.csv")], {
        onSpawn: (p) => (pid = p),
        onStderr(text) {
          if (id) return onLater?.(text, pid);
          id = /^Batch (\S+) started/m.exec(text)?.[1];
          if (id) onStart(pid);
        },
      });
      return { run, id };
    }

    it(
      "prints the id at the start, progress on stderr at most a line per 10% when not a terminal, none with " +
        "--quiet",
      async () => {
        const run = await mlserver(h, ["services", "batch", "quick", "1", "--file", join(h.dir, "rows.csv")]);
        expect(run.code, run.stderr).toBe(0);
        const started = /^Batch (\S+) started: 40 rows\. If this command stops, `(.*)` finds it again\.$/m.exec(
          run.stderr,
        );
        const id = started?.[1];
        expect(started?.[2]).toBe(`mlserver services batch status quick 1 ${id}`);
        expect(id, run.stderr).toBeDefined();
        const lines = run.stderr.split("\n").filter((l) => /^quick 1: \d+\/40$/.test(l));
        expect(lines.length).toBeGreaterThanOrEqual(1);
        expect(lines.length).toBeLessThanOrEqual(11);
        expect(lines.at(-1)).toBe("quick 1: 40/40");
        expect(run.stdout).toMatch(/^#\s+RESULT\n1\s+\{"y":2\}\n/);
        expect(run.stdout).toContain("40 of 40 runs succeeded.");
        const quiet = await mlserver(h, [
          "services",
          "batch",
          "quick",
          "1",
          "--file",
          join(h.dir, "rows.csv"),
          "--quiet",
          "--json",
        ]);
        expect(quiet.code).toBe(0);
        expect(quiet.stderr).not.toMatch(/quick 1: \d+\/40/);
        expect(JSON.parse(quiet.stdout)).toMatchObject({ total: 40, failed: 0, executionId: expect.any(String) });
      },
    );

    it(
      "list, status, results and cancel (as actions or flags) find a batch again, also after the CLI that " +
        "started it was killed",
      async () => {
        const { run: killed, id } = await slowBatch((pid) => process.kill(pid, "SIGKILL"));
        expect(killed.signal).toBe("SIGKILL");
        expect(id).toBeDefined();
        const listed = await mlserver(h, ["services", "batch", "list", "slow", "1", "--json"]);
        expect(JSON.parse(listed.stdout).batches).toContain(id);
        expect(
          JSON.parse((await mlserver(h, ["services", "batch", "slow", "1", "--list", "--json"])).stdout).batches,
        ).toContain(id);
        expect(
          JSON.parse((await mlserver(h, ["services", "batch", "status", "slow", "1", id!, "--json"])).stdout),
        ).toMatchObject({ executionId: id, total: 40 });
        expect((await mlserver(h, ["services", "batch", "status", "slow", "1"])).stderr).toContain(
          "services batch status takes <name> <version> <batch id>.",
        );
        const status = await mlserver(h, ["services", "batch", "slow", "1", "--status", id!, "--json"]);
        expect(JSON.parse(status.stdout)).toMatchObject({ executionId: id, total: 40 });
        const partial = await mlserver(h, ["services", "batch", "slow", "1", "--results", id!]);
        expect(partial.stdout).toMatch(
          /runs succeeded\. The batch is (inProgress|ready|complete)|40 of 40 runs succeeded/,
        );
        const cancelled = await mlserver(h, ["services", "batch", "slow", "1", "--cancel", id!]);
        expect(cancelled.code, cancelled.stderr).toBe(0);
        expect((await mlserver(h, ["services", "batch", "slow", "1", "--status", id!])).code).toBe(4);
      },
    );

    it(
      "artifacts lists the files a batch's runs wrote, by row from 1, and downloads them with " + "--output-dir",
      async () => {
        const token = await bearer();
        const published = await fetch(`${deployed.url}/services/writer/1`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({
            runtimeType: "Python",
            code: "open('row.txt', 'w').write('row %d' % x)\ny = x",
            inputParameterDefinitions: [{ name: "x", type: "integer" }],
            outputParameterDefinitions: [{ name: "y", type: "integer" }],
            outputFileNames: ["row.txt"],
          }),
        });
        expect(published.status).toBe(201);
        writeFileSync(join(h.dir, "three.csv"), "x\n7\n8\n9\n");
        const run = await mlserver(h, [
          "services",
          "batch",
          "writer",
          "1",
          "--file",
          join(h.dir, "three.csv"),
          "--json",
        ]);
        expect(run.code, run.stderr).toBe(0);
        const { executionId } = JSON.parse(run.stdout) as { executionId: string };
        const listed = await mlserver(h, ["services", "batch", "artifacts", "writer", "1", executionId]);
        expect(listed.stdout).toMatch(/^ROW\s+FILE\n1\s+row\.txt\n2\s+row\.txt\n3\s+row\.txt\n$/);
        const saved = await mlserver(h, [
          "services",
          "batch",
          "artifacts",
          "writer",
          "1",
          executionId,
          "--index",
          "2",
          "--output-dir",
          join(h.dir, "artifacts"),
          "--json",
        ]);
        expect(JSON.parse(saved.stdout)).toEqual({
          executionId,
          files: [{ row: 2, file: "row.txt", savedTo: join(h.dir, "artifacts", "2", "row.txt") }],
        });
        expect(readFileSync(join(h.dir, "artifacts", "2", "row.txt"), "utf8")).toBe("row 8");
        expect(
          (await mlserver(h, ["services", "batch", "artifacts", "writer", "1", executionId, "--index", "4"])).stderr,
        ).toContain("--index takes a row number from 1 to 3.");
      },
    );

    it("services realtime publish and update upload a serialized model; it shows in services get", async () => {
      const model = Buffer.from([0, 1, 2, 0xfe, 0xff, 10, 13]);
      writeFileSync(join(h.dir, "kmeans.bin"), model);
      const published = await mlserver(h, [
        "services",
        "realtime",
        "publish",
        "kmeans",
        "1",
        "--model",
        join(h.dir, "kmeans.bin"),
        "--description",
        "clusters",
      ]);
      expect(published.code, published.stderr).toBe(0);
      expect(published.stdout).toContain("Published the realtime service kmeans 1 (a 7-byte model).");
      expect(deployed.services.get("kmeans\u00001")).toMatchObject({
        runtimeType: "Realtime",
        description: "clusters",
        modelBytes: 7,
        modelSha256: createHash("sha256").update(model).digest("hex"),
      });
      writeFileSync(join(h.dir, "kmeans2.bin"), Buffer.alloc(100, 3));
      const updated = await mlserver(h, [
        "services",
        "realtime",
        "update",
        "kmeans",
        "1",
        "--model",
        join(h.dir, "kmeans2.bin"),
        "--alias",
        "cluster",
        "--json",
      ]);
      expect(JSON.parse(updated.stdout)).toEqual({
        name: "kmeans",
        version: "1",
        runtimeType: "Realtime",
        updated: true,
        modelBytes: 100,
      });
      expect(deployed.services.get("kmeans\u00001")).toMatchObject({
        modelBytes: 100,
        operationId: "cluster",
        description: "clusters",
      });
      expect((await mlserver(h, ["services", "realtime", "update", "kmeans", "1"])).stderr).toContain(
        "services realtime update needs something to change",
      );
      expect((await mlserver(h, ["services", "realtime", "publish", "kmeans", "2"])).stderr).toContain(
        "services realtime publish needs --model",
      );
      expect((await mlserver(h, ["services", "realtime", "remove", "kmeans", "1"])).code).toBe(2);
    });

    it(
      "Ctrl-C cancels the batch on the server and exits 130; a second Ctrl-C leaves it running and says how to " +
        "follow it",
      async () => {
        for (const presses of [1, 2]) {
          // The second press comes while the cancel is still on its way: the server holds it, then refuses it.
          if (presses === 2)
            deployed.faults.push({
              route: "DELETE /api/{name}/{version}/batch/{executionId}",
              kind: "delay",
              delayMs: 20_000,
              status: 503,
              times: 1,
            });
          let pressed = 0;
          const { run, id } = await slowBatch(
            (pid) => {
              pressed++;
              process.kill(pid, "SIGINT");
            },
            (text, pid) => {
              if (presses === 2 && pressed === 1 && text.includes("Cancelling batch")) {
                pressed++;
                process.kill(pid, "SIGINT");
              }
            },
          );
          expect(run.code, run.stderr).toBe(130);
          const token = await bearer();
          const status = await fetch(`${deployed.url}/api/slow/1/batch/${id}`, {
            headers: { authorization: `Bearer ${token}` },
          });
          if (presses === 1) {
            expect(run.stderr).toContain(`Cancelling batch ${id} on the server (Ctrl-C again to leave it running)`);
            expect(status.status).toBe(404);
          } else {
            expect(run.stderr).toContain(
              `Left batch ${id} running on the server; follow it with \`mlserver services batch status slow 1 ${id}\``,
            );
            expect(status.status).toBe(200);
            await fetch(`${deployed.url}/api/slow/1/batch/${id}`, {
              method: "DELETE",
              headers: { authorization: `Bearer ${token}` },
            });
          }
        }
      },
    );

    it(
      "on a terminal: a bar redrawn on stderr and ended before anything else; a failure mid-batch keeps the " +
        "results on the server and says where",
      async () => {
        /** The CLI on a pseudo-terminal (util-linux script): what it drew, and its exit code. */
        const onTerminal = (args: string[], onOutput?: (text: string) => void) =>
          new Promise<{ code: number | null; output: string }>((resolve, reject) => {
            const quoted = [installed.bin, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
            const child = spawn("script", ["-qfec", quoted, "/dev/null"], {
              env: h.env,
              stdio: ["ignore", "pipe", "pipe"],
            });
            let output = "";
            child.stdout.on("data", (d: Buffer) => {
              output += d;
              onOutput?.(output);
            });
            child.on("error", reject);
            child.on("close", (code) => resolve({ code, output }));
          });
        const drawn = await onTerminal(["services", "batch", "quick", "1", "--file", join(h.dir, "rows.csv")]);
        expect(drawn.code, drawn.output).toBe(0);
        expect(drawn.output).toMatch(/\rquick 1 \[#{30}\] 40\/40\r?\n/);
        // The table follows on a line of its own (its header bold, on a terminal).
        const plain = drawn.output.replace(new RegExp(`${String.fromCharCode(27)}\\[\\d+m`, "g"), "");
        expect(plain).toMatch(/40\/40\r?\n#\s+RESULT\r?\n1\s+\{"y":2\}/);

        let id: string | undefined;
        const failing = await onTerminal(
          ["services", "batch", "slow", "1", "--file", join(h.dir, "rows.csv")],
          (text) => {
            const started = /Batch (\S+) started/.exec(text)?.[1];
            if (started && !id) {
              id = started;
              deployed.faults.push({
                route: "GET /api/{name}/{version}/batch/{executionId}",
                kind: "status",
                status: 500,
                times: 20,
              });
            }
          },
        );
        deployed.faults.length = 0;
        expect(failing.code, failing.output).toBe(5);
        // The error starts a line of its own, after the bar's line.
        expect(failing.output).toMatch(/\n\s*mlserver: /);
        expect(failing.output).not.toMatch(/\/40mlserver/);
        expect(failing.output).toContain(
          `The batch ${id} goes on on the server: \`mlserver services batch results slow 1 ${id}\` shows what it ` +
            `finished.`,
        );
        const results = await mlserver(h, ["services", "batch", "slow", "1", "--results", id!, "--json"]);
        expect(JSON.parse(results.stdout)).toMatchObject({ executionId: id });
        await mlserver(h, ["services", "batch", "slow", "1", "--cancel", id!]);
      },
    );

    it("a CSV without a declared input is refused before anything is sent", async () => {
      const before = deployed.counters.executions;
      const run = await mlserver(h, ["services", "batch", "quick", "1", "--file", join(h.dir, "wrong.csv")]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`The CSV header names "z", which the service does not take`);
      writeFileSync(join(h.dir, "no-x.csv"), "\n1\n");
      const lacking = await mlserver(h, ["services", "batch", "quick", "1", "--file", join(h.dir, "no-x.csv")]);
      expect(lacking.code).toBe(2);
      expect(deployed.counters.executions).toBe(before);
    });
  });
});

describe("profiles, tokens that last, service updates, and messages that help", () => {
  it(
    "profiles lists each profile (server, account, signed in, expiry, default), use switches, remove signs out " +
      "first",
    async () => {
      const h = await home();
      const other = await startDevServer({ accessTokenSeconds: 600 });
      try {
        expect((await login(h)).code).toBe(0);
        // Another server under the default profile: refused off a terminal, naming --profile.
        const replacing = await mlserver(
          h,
          ["login", "--server", other.url, "--username", "admin", "--password-stdin"],
          {
            stdin: `${PASSWORD}\n`,
          },
        );
        expect(replacing.code).toBe(2);
        expect(replacing.stderr).toContain(
          `Profile default signs in to ${server.url}; signing in to ${other.url} would replace it. Give ` +
            `--profile <name>`,
        );
        // On a terminal it asks; no keeps the profile, yes replaces it.
        const asked = async (answer: string) =>
          new Promise<{ code: number | null; output: string }>((resolve, reject) => {
            const child = spawn(
              "script",
              ["-qfec", `'${installed.bin}' login --server '${other.url}' --username admin`, "/dev/null"],
              {
                env: { ...h.env, MLSERVER_PASSWORD: PASSWORD },
                stdio: ["pipe", "pipe", "pipe"],
              },
            );
            let output = "";
            child.stdout.on("data", (d: Buffer) => {
              output += d;
              if (output.includes("[y/N]") && !child.stdin.writableEnded) child.stdin.end(`${answer}\n`);
            });
            child.on("error", reject);
            child.on("close", (code) => resolve({ code, output }));
          });
        // Ctrl-C at the password prompt (a raw-mode terminal turns it into a character) exits 130.
        const interrupted = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
          const child = spawn(
            "script",
            [
              "-qfec",
              `'${installed.bin}' login --server '${server.url}' --username admin --profile other`,
              "/dev/null",
            ],
            { env: h.env, stdio: ["pipe", "pipe", "pipe"] },
          );
          let output = "";
          child.stdout.on("data", (d: Buffer) => {
            output += d;
            if (output.includes("Password for admin") && !child.stdin.writableEnded) child.stdin.end("\u0003");
          });
          child.on("error", reject);
          child.on("close", (code) => resolve({ code, output }));
        });
        expect(interrupted.code, interrupted.output).toBe(130);
        const declined = await asked("n");
        expect(declined.output).toContain(
          `Profile default signs in to ${server.url}. Replace it with ${other.url}? [y/N]`,
        );
        expect(declined.code).toBe(2);
        expect(declined.output).toContain("Kept profile default.");
        expect(
          JSON.parse(readFileSync(join(h.env.XDG_CONFIG_HOME!, "mlserver-client", "config.json"), "utf8")).profiles
            .default.server,
        ).toBe(server.url);
        // The same server written differently is the same server.
        expect(
          (
            await mlserver(h, ["login", "--server", `${server.url}/`, "--username", "admin", "--password-stdin"], {
              stdin: `${PASSWORD}\n`,
            })
          ).code,
        ).toBe(0);
        const second = await mlserver(
          h,
          ["login", "--server", other.url, "--username", "admin", "--password-stdin", "--profile", "other"],
          { stdin: `${PASSWORD}\n` },
        );
        expect(second.code, second.stderr).toBe(0);
        expect(second.stderr).toContain("Next: `mlserver status` checks the server");

        const listed = JSON.parse((await mlserver(h, ["profiles", "--json"])).stdout);
        expect(listed).toMatchObject({
          defaultProfile: "default",
          profiles: [
            {
              name: "default",
              default: true,
              server: `${server.url}/`,
              account: "admin",
              auth: "login",
              signedIn: true,
              expiresAt: expect.any(String),
            },
            { name: "other", default: false, server: other.url, account: "admin", signedIn: true },
          ],
        });
        const table = await mlserver(h, ["profiles"]);
        expect(table.stdout).toMatch(
          /^\*\s+default\s+http:\/\/127\.0\.0\.1:\d+\/\s+admin \(login\)\s+yes, token until /m,
        );

        expect((await mlserver(h, ["profiles", "use", "other"])).code).toBe(0);
        expect(JSON.parse((await mlserver(h, ["status", "--json"])).stdout)).toMatchObject({
          profile: "other",
          server: other.url,
        });
        const revokesBefore = other.counters.revokes;
        const removed = await mlserver(h, ["profiles", "remove", "other"]);
        expect(removed.code, removed.stderr).toBe(0);
        expect(other.counters.revokes).toBe(revokesBefore + 1);
        expect(
          JSON.parse((await mlserver(h, ["profiles", "--json"])).stdout).profiles.map((p: { name: string }) => p.name),
        ).toEqual(["default"]);
        expect((await mlserver(h, ["profiles", "use", "nope"])).stderr).toContain(
          'There is no profile "nope"; the profiles are default',
        );
      } finally {
        await other.close();
      }
    },
  );

  it("token --min-valid renews first when less is left; --output env and json", async () => {
    const h = await home();
    const short = await startDevServer({ accessTokenSeconds: 120 });
    try {
      expect(
        (
          await mlserver(h, ["login", "--server", short.url, "--username", "admin", "--password-stdin"], {
            stdin: `${PASSWORD}\n`,
          })
        ).code,
      ).toBe(0);
      const plain = (await mlserver(h, ["token"])).stdout.trim();
      expect(short.counters.renewals).toBe(0);
      // 10 s of 120 left is plenty: the same token.
      expect((await mlserver(h, ["token", "--min-valid", "10s"])).stdout.trim()).toBe(plain);
      expect(short.counters.renewals).toBe(0);
      // Asking for the whole lifetime is always more than is left (some time has passed since the
      // login): renewed first, once. Nothing here depends on how fast the commands ran.
      const env = await mlserver(h, ["token", "--min-valid", "120s", "--output", "env"]);
      expect(env.code, env.stderr).toBe(0);
      expect(short.counters.renewals).toBe(1);
      const [tokenLine, expiryLine] = env.stdout.trim().split("\n");
      expect(tokenLine).toMatch(/^MLSERVER_ACCESS_TOKEN=\S+$/);
      expect(tokenLine).not.toBe(`MLSERVER_ACCESS_TOKEN=${plain}`);
      expect(expiryLine).toMatch(/^MLSERVER_TOKEN_EXPIRES_AT=\d{4}-\d\d-\d\dT/);
      // Longer than the server's tokens ever last: renewed, and a warning says so.
      const tooLong = await mlserver(h, ["token", "--min-valid", "2h", "--output", "json"]);
      expect(JSON.parse(tooLong.stdout)).toMatchObject({
        accessToken: expect.any(String),
        expiresAt: expect.any(String),
      });
      expect(tooLong.stderr).toContain("the server's tokens last less than --min-valid asks");
      expect((await mlserver(h, ["token", "--min-valid", "soon"])).stderr).toContain(
        "--min-valid takes a duration such as 30s, 10m or 2h",
      );
    } finally {
      await short.close();
    }
  });

  it("services update changes only the fields given", async () => {
    const h = await home();
    expect((await login(h)).code).toBe(0);
    writeFileSync(join(h.dir, "v1.py"), "y = x + 1");
    writeFileSync(join(h.dir, "v2.py"), "y = x + 2");
    expect(
      (
        await mlserver(h, [
          "services",
          "publish",
          "updatable",
          "1.0",
          "--code",
          join(h.dir, "v1.py"),
          "--inputs",
          '{"x":"numeric"}',
          "--outputs",
          '{"y":"numeric"}',
          "--description",
          "first",
        ])
      ).code,
    ).toBe(0);
    const updated = await mlserver(h, ["services", "update", "updatable", "1.0", "--code", join(h.dir, "v2.py")]);
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stdout).toContain("Updated updatable 1.0: code.");
    const again = await mlserver(h, ["services", "publish", "updatable", "2.0", "--code", join(h.dir, "v1.py")]);
    expect(again.stderr).toContain(
      "Next: `mlserver services consume updatable 2.0 --inputs '{...}'` runs it; `mlserver generate --service " +
        "updatable@2.0 -o updatable.ts` types it.",
    );
    expect(server.services.get("updatable\u00001.0")).toMatchObject({ code: "y = x + 2", description: "first" });
    const missingFile = await mlserver(h, [
      "services",
      "update",
      "updatable",
      "1.0",
      "--init-code",
      join(h.dir, "none.py"),
    ]);
    expect(missingFile.code).toBe(2);
    expect(missingFile.stderr).toContain(`--init-code ${join(h.dir, "none.py")} cannot be read (ENOENT)`);
    expect((await mlserver(h, ["services", "update", "updatable", "1.0"])).stderr).toContain(
      "services update needs something to change",
    );
  });

  it.skipIf(rMissing)(
    "R from the command line: services publish --code model.R (or --runtime R), run script.R",
    async () => {
      const h = await home();
      expect((await login(h)).code).toBe(0);
      writeFileSync(join(h.dir, "model.R"), "y <- x * 3");
      const published = await mlserver(h, [
        "services",
        "publish",
        "r-cli",
        "1.0",
        "--code",
        join(h.dir, "model.R"),
        "--inputs",
        '{"x":"numeric"}',
        "--outputs",
        '{"y":"numeric"}',
      ]);
      expect(published.code, published.stderr).toBe(0);
      expect(server.services.get("r-cli\u00001.0")).toMatchObject({ runtimeType: "R" });
      expect(
        JSON.parse(
          (await mlserver(h, ["services", "consume", "r-cli", "1.0", "--inputs", '{"x":14}', "--json"])).stdout,
        ),
      ).toMatchObject({ outputs: { y: 42 } });
      writeFileSync(join(h.dir, "score.txt"), "y <- x - 1");
      expect(
        (
          await mlserver(h, [
            "services",
            "publish",
            "r-cli",
            "2.0",
            "--code",
            join(h.dir, "score.txt"),
            "--runtime",
            "R",
          ])
        ).code,
      ).toBe(0);
      expect(server.services.get("r-cli\u00002.0")).toMatchObject({ runtimeType: "R" });
      const unknown = await mlserver(h, [
        "services",
        "publish",
        "r-cli",
        "3.0",
        "--code",
        join(h.dir, "score.txt"),
        "--runtime",
        "Julia",
      ]);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('--runtime is Python or R, not "Julia".');
      writeFileSync(
        join(h.dir, "sum.R"),
        'total <- sum(1:4)\ncat("sum:", total, "\\n")\nwriteLines(as.character(total), "sum.txt")\n',
      );
      mkdirSync(join(h.dir, "r-out"));
      const ran = await mlserver(h, ["run", join(h.dir, "sum.R"), "--output-dir", join(h.dir, "r-out")]);
      expect(ran.code, ran.stderr).toBe(0);
      expect(ran.stdout).toBe("sum: 10 \n");
      expect(readFileSync(join(h.dir, "r-out", "sum.txt"), "utf8")).toBe("10\n");
    },
  );

  describe("session: an interactive remote prompt (mrsdeploy's REMOTE>)", () => {
    /**
     * `mlserver session` on a pseudo-terminal: `steps` are [what to wait for in the output, what to
     * type then]; resolves with everything drawn once the CLI exits.
     */
    const onTerminal = (h: Home, steps: [RegExp, string][]) =>
      new Promise<{ code: number | null; output: string }>((resolve, reject) => {
        const child = spawn("script", ["-qfec", `'${installed.bin}' session`, "/dev/null"], {
          env: h.env,
          stdio: ["pipe", "pipe", "pipe"],
        });
        let output = "";
        let step = 0;
        let seen = 0;
        child.stdout.on("data", (d: Buffer) => {
          output += d;
          while (step < steps.length) {
            const match = steps[step]![0].exec(output.slice(seen));
            if (!match) break;
            seen += match.index + match[0].length;
            child.stdin.write(steps[step]![1]);
            step++;
          }
        });
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, output }));
      });
    // readline ends a prompt with a cursor move (ESC [ n G).
    const cursorMove = `(${String.fromCharCode(27)}\\[\\d+G)?$`;
    const PROMPT = new RegExp(`REMOTE>>> ${cursorMove}`);
    const MORE = new RegExp(`\\.\\.\\. ${cursorMove}`);

    it(
      "runs each input in one session: blocks continue on ..., Ctrl-C cancels running code, history outlives " +
        "the prompt, exit closes the session",
      async () => {
        const h = await home();
        expect((await login(h)).code).toBe(0);
        const sessions = server.sessions.size;
        const first = await onTerminal(h, [
          [PROMPT, "total = 40\r"],
          [PROMPT, "for i in range(2):\r"],
          [MORE, "    total += 1\r"],
          [MORE, "\r"],
          [PROMPT, "import time; print('sleeping', flush=True); time.sleep(60)\r"],
          // The output's own line, not the echo of the typed input (which holds 'sleeping' too).
          [/\nsleeping\r?\n/, "\u0003"],
          [PROMPT, "print('total is', total)\r"],
          [PROMPT, "exit\r"],
        ]);
        expect(first.code, first.output).toBe(0);
        expect(first.output).toContain("Cancelled.");
        expect(first.output).toMatch(/total is 42\r?\n/);
        expect(first.output).toMatch(/Closed session \S+\./);
        expect(server.sessions.size).toBe(sessions);
        // A new prompt, a new session: the up arrow goes back through this one's lines into the last one's.
        const second = await onTerminal(h, [
          [PROMPT, "total = 1\r"],
          [PROMPT, "\u001b[A\u001b[A\r"],
          [PROMPT, "\u0004"],
        ]);
        expect(second.code, second.output).toBe(0);
        expect(second.output).toMatch(/total is 1\r?\n/);
        expect(server.sessions.size).toBe(sessions);
      },
    );

    it("without a terminal it runs its input as a script, with put and get, and closes the session", async () => {
      const h = await home();
      expect((await login(h)).code).toBe(0);
      writeFileSync(join(h.dir, "numbers.txt"), "3 4 5");
      const sessions = server.sessions.size;
      const input = [
        `put ${join(h.dir, "numbers.txt")}`,
        "values = [int(v) for v in open('numbers.txt').read().split()]",
        "def total(xs):",
        "    return sum(xs)",
        "",
        "print('sum', total(values))",
        "open('out.txt', 'w').write(str(total(values)))",
        `get out.txt ${join(h.dir, "fetched", "out.txt")}`,
        "raise ValueError('shown, and the prompt goes on')",
        "print('still here')",
      ].join("\n");
      const ran = await mlserver(h, ["session"], { stdin: `${input}\n` });
      expect(ran.code, ran.stderr).toBe(0);
      expect(ran.stdout).toBe("sum 12\nstill here\n");
      expect(ran.stderr).toContain("ValueError: shown, and the prompt goes on");
      expect(readFileSync(join(h.dir, "fetched", "out.txt"), "utf8")).toBe("12");
      expect(server.sessions.size).toBe(sessions);
      const missing = await mlserver(h, ["session"], { stdin: "get nothing-here.txt\n" });
      expect(missing.code).toBe(5);
      expect(missing.stderr).toMatch(/nothing-here\.txt/);
    });

    it.skipIf(rMissing)(
      "--runtime R opens an R session: a function over several lines, R's console output",
      async () => {
        const h = await home();
        expect((await login(h)).code).toBe(0);
        const ran = await mlserver(h, ["session", "--runtime", "R"], {
          stdin: "scale <- function(x) {\n  x * 10\n}\nscale(1:3)\nsummary(c(1, 2, 3))\nexit\n",
        });
        expect(ran.code, ran.stderr).toBe(0);
        // R's console output as R prints it: the vector, then summary()'s header and values.
        const lines = ran.stdout.split("\n").map((l) => l.trim().split(/\s+/).join(" "));
        expect(lines).toEqual(["[1] 10 20 30", "Min. 1st Qu. Median Mean 3rd Qu. Max.", "1.0 1.5 2.0 2.0 2.5 3.0", ""]);
      },
    );
  });

  it("devserver --python and --r choose the interpreters; one that is missing is a 400 naming it", async () => {
    const h = await home();
    const missing = join(h.dir, "missing");
    // From the source tree: the dev server's packages are this project's development dependencies.
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "src/cli/main.ts",
        "devserver",
        "--port",
        "0",
        "--python",
        join(missing, "python3"),
        "--r",
        join(missing, "Rscript"),
      ],
      {
        env: h.env,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d;
          const found = /listening on (http:\/\/\S+) /.exec(out)?.[1];
          if (found) resolve(found);
        });
        child.stderr.on("data", (d: Buffer) => (out += d));
        child.once("exit", (code) => reject(new Error(`devserver exited (${code}): ${out}`)));
      });
      const login = await fetch(`${url}/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "admin", password: PASSWORD }),
      });
      const headers = {
        authorization: `Bearer ${((await login.json()) as { access_token: string }).access_token}`,
        "content-type": "application/json",
      };
      const r = await fetch(`${url}/services/r-model/1`, {
        method: "POST",
        headers,
        body: JSON.stringify({ code: "y <- 1", runtimeType: "R" }),
      });
      expect(r.status).toBe(400);
      expect(await r.text()).toContain(`R is not installed here (${join(missing, "Rscript")} was not found)`);
      const python = await fetch(`${url}/sessions`, {
        method: "POST",
        headers,
        body: JSON.stringify({ runtimeType: "Python" }),
      });
      expect(python.status).toBe(400);
      expect(await python.text()).toContain(
        `the dev server's Python (${join(missing, "python3")}) could not be started`,
      );
    } finally {
      child.kill("SIGINT");
    }
  });

  it("pools create, status and delete a service's dedicated pool", async () => {
    const h = await home();
    expect((await login(h)).code).toBe(0);
    writeFileSync(join(h.dir, "one.py"), "y = 1");
    expect(
      (await mlserver(h, ["services", "publish", "pooled-cli", "1.0", "--code", join(h.dir, "one.py")])).code,
    ).toBe(0);
    const created = await mlserver(h, ["pools", "create", "pooled-cli", "1.0", "--initial", "1", "--max", "2"]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain("Created the pool of pooled-cli 1.0: 1 shell(s) at once, at most 2.");
    expect(JSON.parse((await mlserver(h, ["pools", "status", "pooled-cli", "1.0", "--json"])).stdout)).toEqual({
      name: "pooled-cli",
      version: "1.0",
      computeNodes: [{ computeNode: server.url, status: "Success" }],
    });
    expect(
      (await mlserver(h, ["pools", "create", "pooled-cli", "1.0", "--initial", "3", "--max", "2"])).stderr,
    ).toContain("--initial (3) may not exceed --max (2)");
    expect((await mlserver(h, ["pools", "delete", "pooled-cli", "1.0"])).code).toBe(0);
    expect((await mlserver(h, ["pools", "delete", "pooled-cli", "1.0"])).code).toBe(4);
  });

  it(
    "run: a script in a fresh session, its output here, its files fetched, a snapshot kept, exit 5 when it " + "fails",
    async () => {
      const h = await home();
      expect((await login(h)).code).toBe(0);
      writeFileSync(join(h.dir, "numbers.csv"), "4\n5\n");
      writeFileSync(
        join(h.dir, "sum.py"),
        "values = [int(x) for x in open('numbers.csv').read().split()]\nprint('sum:', " +
          "sum(values))\nopen('sum.txt', 'w').write(str(sum(values)))\n",
      );
      mkdirSync(join(h.dir, "out"));
      const sessionsBefore = server.sessions.size;
      const ran = await mlserver(h, [
        "run",
        join(h.dir, "sum.py"),
        "--input-file",
        join(h.dir, "numbers.csv"),
        "--output-dir",
        join(h.dir, "out"),
        "--snapshot",
        "summed",
      ]);
      expect(ran.code, ran.stderr).toBe(0);
      expect(ran.stdout).toBe("sum: 9\n");
      expect(readFileSync(join(h.dir, "out", "sum.txt"), "utf8")).toBe("9");
      expect(ran.stderr).toMatch(/Snapshot \S+ \(summed\) keeps what the script left\./);
      expect(server.sessions.size).toBe(sessionsBefore);
      writeFileSync(join(h.dir, "broken.py"), "print('trying')\nraise RuntimeError('broken on purpose')\n");
      const broken = await mlserver(h, ["run", join(h.dir, "broken.py"), "--json"]);
      expect(broken.code).toBe(5);
      expect(JSON.parse(broken.stdout)).toMatchObject({
        success: false,
        errorMessage: "RuntimeError: broken on purpose",
        consoleOutput: "trying\n",
      });
      // Failing before it writes the file asked for: still the script's failure (5), not a 404 (4).
      writeFileSync(join(h.dir, "early.R"), 'stop("early failure")\n');
      const early = await mlserver(h, [
        "run",
        join(h.dir, "early.R"),
        "--get-file",
        "out.txt",
        "--output-dir",
        join(h.dir, "out"),
      ]);
      expect(early.code, early.stderr).toBe(5);
      expect(early.stderr).toMatch(/the script failed: .*early failure.* It left none of out\.txt\./);
      expect(existsSync(join(h.dir, "out", "out.txt"))).toBe(false);
      expect((await mlserver(h, ["run", join(h.dir, "missing.py")])).stderr).toContain(
        `The script ${join(h.dir, "missing.py")} cannot be read (ENOENT)`,
      );
    },
  );

  it("did you mean; secrets as flags refused without echo; help <command> with examples", async () => {
    const h = await home();
    // No terminal to ask on: the message names the variable and the flag.
    const noTerminal = await mlserver(h, ["login", "--server", server.url, "--username", "admin"]);
    expect(noTerminal.code).toBe(2);
    expect(noTerminal.stderr).toContain(
      "There is no terminal to ask on: set MLSERVER_PASSWORD, or pipe it to --password-stdin.",
    );
    const typo = await mlserver(h, ["stauts"]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("Did you mean `mlserver status`?");
    const flag = await mlserver(h, ["login", "--sever", server.url]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("Unknown flag --sever. Did you mean --server?");
    for (const args of [
      ["login", "--password", "Hunter2-secret"],
      ["login", "--password=Hunter2-secret"],
      ["token", "--client-secret", "Hunter2-secret"],
    ]) {
      const run = await mlserver(h, args);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/Secrets never come from flags .*: instead of --(password|client-secret), use /);
      expect(run.stderr).toMatch(/, use --(password|client-secret)-stdin or MLSERVER_(PASSWORD|CLIENT_SECRET)/);
      expect(run.stderr + run.stdout).not.toContain("Hunter2-secret");
    }
    for (const command of ["login", "token", "services", "profiles", "pools", "run", "devserver"]) {
      const help = await mlserver(h, ["help", command]);
      expect(help.code).toBe(0);
      const examples = help.stdout.split("Examples:\n")[1]?.split("\n\n")[0]?.split("\n") ?? [];
      expect(examples.length, command).toBeGreaterThanOrEqual(2);
      expect(
        examples.every(
          (e) =>
            e.startsWith("  mlserver ") ||
            e.startsWith("  curl ") ||
            e.startsWith("  eval ") ||
            e.startsWith("  printf ") ||
            e.startsWith("  MLSERVER_"),
        ),
        command,
      ).toBe(true);
      expect((await mlserver(h, [command, "--help"])).stdout).toBe(help.stdout);
    }
  });
});

describe("shell completion", () => {
  it("bash completes commands, subcommands, flags, profile names and the service names services list saw", async () => {
    const h = await home();
    expect((await login(h)).code).toBe(0);
    expect((await login(h, ["--profile", "staging"])).code).toBe(0);
    writeFileSync(join(h.dir, "one.py"), "y = 1");
    expect(
      (await mlserver(h, ["services", "publish", "completable", "1.0", "--code", join(h.dir, "one.py")])).code,
    ).toBe(0);
    const listed = await mlserver(h, ["services", "list"]);
    expect(listed.code).toBe(0);
    const script = (await mlserver(h, ["completion", "bash"])).stdout;
    const bin = dirname(installed.bin);
    /** What bash offers for the words typed so far (the last one partial), through the printed script. */
    const complete = async (...words: string[]) => {
      const line =
        `source /dev/stdin <<'EOS'\n${script}EOS\nCOMP_WORDS=(mlserver ` +
        `${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length}; _mlserver; printf '%s\\n' ` +
        `"\${COMPREPLY[@]}"`;
      const run = await new Promise<string>((resolve, reject) => {
        const child = spawn("bash", ["-c", line], { env: { ...h.env, PATH: `${bin}:${process.env.PATH}` } });
        let out = "";
        child.stdout.on("data", (d: Buffer) => (out += d));
        child.on("error", reject);
        child.on("close", () => resolve(out));
      });
      return run.split("\n").filter(Boolean);
    };
    expect(await complete("ser")).toEqual(["services"]);
    expect(await complete("services", "ba")).toEqual(["batch"]);
    expect(await complete("token", "--min")).toEqual(["--min-valid"]);
    expect(await complete("status", "--profile", "")).toEqual(["default", "staging"]);
    expect(await complete("profiles", "use", "st")).toEqual(["staging"]);
    expect(await complete("token", "--output", "")).toEqual(["token", "json", "table", "env"]);
    const names = JSON.parse((await mlserver(h, ["services", "list", "--json"])).stdout).map(
      (s: { name: string }) => s.name,
    ) as string[];
    expect(names.length).toBeGreaterThan(0);
    expect(await complete("services", "consume", "")).toEqual([...new Set(names)].sort());
    expect((await mlserver(h, ["completion", "tcsh"])).code).toBe(2);
  });

  /** What a shell prints for `script` run with mlserver on its PATH and this home's settings. */
  async function inShell(h: Home, shell: string, args: string[]): Promise<string[]> {
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(shell, args, { env: { ...h.env, PATH: `${dirname(installed.bin)}:${process.env.PATH}` } });
      let text = "";
      child.stdout.on("data", (d: Buffer) => (text += d));
      child.on("error", reject);
      child.on("close", () => resolve(text));
    });
    return out.split("\n").filter(Boolean);
  }

  it.skipIf(!existsSync("/usr/bin/fish"))(
    "fish completes through its printed script (skipped without fish: apt-get install fish)",
    async () => {
      const h = await home();
      expect((await login(h)).code).toBe(0);
      const complete = (line: string) =>
        inShell(h, "fish", ["-c", `mlserver completion fish | source; complete -C ${JSON.stringify(line)}`]);
      expect(await complete("mlserver ser")).toEqual(["services"]);
      expect(await complete("mlserver services ba")).toEqual(["batch"]);
      expect(await complete("mlserver status --profile ")).toEqual(["default"]);
    },
  );

  it.skipIf(!existsSync("/usr/bin/zsh"))(
    "zsh completes through its printed script (skipped without zsh: apt-get install zsh)",
    async () => {
      const h = await home();
      expect((await login(h)).code).toBe(0);
      // compadd and _files stand in for the completion system's builtins: they print what would be offered.
      const complete = (...words: string[]) =>
        inShell(h, "zsh", [
          "-fc",
          `compdef() { :; }; compadd() { [[ $1 == -a ]] && print -l -- "\${(@P)2}"; }; _files() { print FILES; ` +
            `}; source <(mlserver completion zsh); words=(mlserver ${words.map((w) => `'${w}'`).join(" ")}); ` +
            `CURRENT=${words.length + 1}; _mlserver`,
        ]);
      expect(await complete("ser")).toEqual(["services"]);
      expect(await complete("services", "batch", "x", "--fi")).toEqual(["--file"]);
      expect(await complete("profiles", "use", "")).toEqual(["default"]);
      expect(await complete("services", "publish", "x", "1", "--code", "")).toEqual(["FILES"]);
    },
  );
});

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
