/**
 * Benchmarks: `npm run bench` (BENCH_QUICK=1 for a shorter run). Every figure is a ratio or a count
 * against a baseline measured in the same run, interleaved, as the median of several rounds: these
 * machines are noisy, so absolute numbers mean little. Prints a table and writes bench/results.json.
 *
 * The dev server runs in its own process, so client and server do not share one event loop.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import createClient, { type Middleware } from "openapi-fetch";
import YAML from "yaml";
import { pathToFileURL } from "node:url";
import type { paths } from "../src/index.js";
import { writeOverheadChart } from "./chart.js";

// The built package, as users get it (its bundled entries; npm run bench builds first), not the
// sources through a loader: loaded by path, since the package's own name resolves to its sources here.
const built = <T>(entry: string): Promise<T> => import(pathToFileURL(resolve(entry)).href) as Promise<T>;
const { createMlServerClient, mlServerLogin } =
  await built<typeof import("../src/index.js")>("dist/bundle/src/index.js");
const { generateFromSpec } = await built<typeof import("../src/codegen/index.js")>("dist/bundle/src/codegen/index.js");

const run = promisify(execFile);
const QUICK = process.env.BENCH_QUICK === "1";
const ROUNDS = QUICK ? 3 : 7;
const ADMIN = { username: "admin", password: "Admin-Pa55word!" };
const BASELINE = { username: "baseline", password: "Baseline-Pa55word!", accessTokenSeconds: 3600 };
const results: Record<string, unknown> = {};
const table: [string, string, string][] = [];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const row = (name: string, value: string, note = "") => {
  table.push([name, value, note]);
  console.log(`  ${name.padEnd(58)} ${value.padStart(14)}  ${note}`);
};

type Tls = { keyFile: string; certFile: string };

/** A self-signed certificate for 127.0.0.1, made now (never committed), for the HTTPS benchmark. */
function certificate(): Tls {
  const dir = mkdtempSync(join(tmpdir(), "mlserver-bench-tls-"));
  const keyFile = join(dir, "key.pem");
  const certFile = join(dir, "cert.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ],
    {
      stdio: "ignore",
    },
  );
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  return { keyFile, certFile };
}

/** A server in a process of its own, once it says where it listens. */
async function serverProcess(args: string[]): Promise<{ url: string; stop(): void }> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((res, rej) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /listening on (https?:\/\/[^\s]+)/.exec(out);
      if (m) res(m[1]!);
    });
    child.once("exit", (code) => rej(new Error(`${args[0]} exited with ${code}`)));
  });
  return { url, stop: () => void child.kill("SIGTERM") };
}

const tlsArgs = (tls?: Tls) => (tls ? ["--tls-key", tls.keyFile, "--tls-cert", tls.certFile] : []);

function devServer(
  accessTokenSeconds: number,
  tls?: Tls,
  extra: string[] = [],
): Promise<{ url: string; stop(): void }> {
  const users = JSON.stringify([ADMIN, BASELINE]);
  return serverProcess([
    "devserver/main.ts",
    ...["--port", "0", "--access-token-seconds", String(accessTokenSeconds), "--users", users],
    ...tlsArgs(tls),
    ...extra,
  ]);
}

/** The cheapest server that answers the overhead benchmark's calls (bench/trivial-server.ts). */
function trivialServer(tls?: Tls): Promise<{ url: string; stop(): void }> {
  return serverProcess(["bench/trivial-server.ts", ...tlsArgs(tls)]);
}

async function accessToken(url: string, user: { username: string; password: string }): Promise<string> {
  const response = await fetch(`${url}/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: user.username, password: user.password }),
  });
  return ((await response.json()) as { access_token: string }).access_token;
}

/**
 * Requests per second for `total` calls at `concurrency`, and the client process's own CPU time per
 * call (user + system, microseconds). The server runs in another process, so the CPU figure is what
 * the client side costs, and it is far less sensitive to machine noise than throughput.
 */
async function throughput(
  call: () => Promise<unknown>,
  total: number,
  concurrency: number,
): Promise<{ rps: number; cpuMicros: number }> {
  let next = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < total) await call();
    }),
  );
  const used = process.cpuUsage(cpu);
  return { rps: total / ((performance.now() - started) / 1000), cpuMicros: (used.user + used.system) / total };
}

/** Median with its spread (min–max over rounds), as every figure is reported. */
interface Spread {
  median: number;
  min: number;
  max: number;
}
const spread = (xs: number[]): Spread => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });
/** Per-round ratios a / b (rounds are interleaved, so round i of each variant ran side by side). */
const ratios = (a: number[], b: number[]): Spread => spread(a.map((x, i) => x / b[i]!));
const show = (r: Spread, digits = 2) =>
  `${r.median.toFixed(digits)}x (${r.min.toFixed(digits)}–${r.max.toFixed(digits)})`;

/**
 * The package as it was before the light request path (real `Request`/`Response` objects on
 * undici), built from git into a temporary folder, so that both paths are measured in one run.
 * BENCH_BASELINE_REF names the commit; without git (an unpacked tarball) it is skipped.
 */
const BASELINE_REF = process.env.BENCH_BASELINE_REF ?? "756b105";
async function previousPath(): Promise<typeof import("../src/index.js") | undefined> {
  const dir = mkdtempSync(join(tmpdir(), "mlserver-bench-previous-"));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  try {
    // Through a file, with no shell: the ref comes from the environment.
    execFileSync(
      "git",
      ["archive", `--output=${join(dir, "previous.tar")}`, BASELINE_REF, "src", "generated", "package.json"],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    execFileSync("tar", ["-x", "-f", join(dir, "previous.tar"), "-C", dir]);
  } catch {
    console.log(`  (the previous path, ${BASELINE_REF}, is not in this checkout: skipped)`);
    return undefined;
  }
  execFileSync("ln", ["-s", resolve("node_modules"), join(dir, "node_modules")]);
  const out = join(dir, "previous.js");
  execFileSync(resolve("node_modules/.bin/esbuild"), [
    join(dir, "src/index.ts"),
    "--bundle",
    "--format=esm",
    "--platform=node",
    "--target=node20.19",
    "--packages=external",
    `--outfile=${out}`,
    "--log-level=warning",
  ]);
  return import(pathToFileURL(out).href) as Promise<typeof import("../src/index.js")>;
}

/** The servers the overhead is measured against, and how their results are named. */
const OVERHEAD_SERVERS = [
  { name: "the dev server", prefix: "", start: (tls?: Tls) => devServer(3600, tls) },
  { name: "a trivial server", prefix: "trivial ", start: trivialServer },
];

async function overhead(): Promise<void> {
  const previous = await previousPath();
  // HTTPS (where core-rest-pipeline runs with its own bearer policy, which refuses plain HTTP) and
  // HTTP (where it gets the same header from a policy of its own). Every peer trusts the bench's
  // self-signed certificate the same way: through Node's TLS default.
  const tls = certificate();
  for (const target of OVERHEAD_SERVERS) {
    for (const protocol of ["https", "http"] as const) {
      console.log(
        `\nOverhead: authenticated GET /status over ${protocol.toUpperCase()} to ${target.name}, every peer ` +
          `in the same run (median, min–max over rounds)`,
      );
      if (protocol === "https") process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
      const server = await target.start(protocol === "https" ? tls : undefined);
      try {
        await overheadOver(protocol, server.url, previous, target.prefix);
      } finally {
        server.stop();
        delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      }
    }
  }
}

async function overheadOver(
  protocol: "https" | "http",
  url: string,
  previous: typeof import("../src/index.js") | undefined,
  /** Names the server in the table's rows and the results' keys ("" for the dev server). */
  prefix: string,
): Promise<void> {
  const token = await accessToken(url, ADMIN);
  const authorization = `Bearer ${token}`;
  const { Pool } = await import("undici");
  const { default: ky } = await import("ky");
  const azure = await import("@azure/core-rest-pipeline");
  const pool = new Pool(url, { connections: 64 });
  const kyClient = ky.create({ prefixUrl: url, headers: { authorization }, retry: 0 });
  // Its own bearer policy, with a credential whose token lasts the run (so, like ours, it caches).
  const pipeline = azure.createEmptyPipeline();
  if (protocol === "https") {
    pipeline.addPolicy(
      azure.bearerTokenAuthenticationPolicy({
        credential: { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }) },
        scopes: "api://mlserver/.default",
      }),
    );
  } else {
    pipeline.addPolicy({
      name: "header",
      sendRequest: (request, next) => (request.headers.set("authorization", authorization), next(request)),
    });
  }
  const azureClient = azure.createDefaultHttpClient();
  const ours = createMlServerClient({ baseUrl: url, auth: mlServerLogin(ADMIN) });
  const oursBefore = previous?.createMlServerClient({ baseUrl: url, auth: previous.mlServerLogin(ADMIN) });
  const oursOnFetch = createMlServerClient({ baseUrl: url, auth: mlServerLogin(ADMIN), fetch: globalThis.fetch });
  const bare = createClient<paths>({ baseUrl: url, headers: { Authorization: authorization } });
  // The Fetch idiom an application's middleware uses most: a new Request from the one it was given.
  const wrapping: Middleware = {
    onRequest: ({ request }) =>
      new Request(request, { headers: { ...Object.fromEntries(request.headers), "x-extra": "1" } }),
  };
  const oursWrapped = createMlServerClient({ baseUrl: url, auth: mlServerLogin(ADMIN) });
  oursWrapped.use(wrapping);
  const bareWrapped = createClient<paths>({ baseUrl: url, headers: { Authorization: authorization } });
  bareWrapped.use(wrapping);
  const ok = (what: string, status: number) => {
    if (status !== 200) throw new Error(`${what}: HTTP ${status}`);
  };
  const OURS = "ours (mlServerLogin, default transport)";
  const PREVIOUS = `ours before, ${BASELINE_REF} (fetch API objects)`;
  const BARE = "bare openapi-fetch (global fetch)";
  const AZURE = `core-rest-pipeline (${protocol === "https" ? "bearer" : "header"} policy)`;
  const FLOOR = "undici Pool.request";
  const OURS_WRAPPED = "ours, with a middleware that wraps the request";
  const BARE_WRAPPED = "bare openapi-fetch, with the same middleware";
  const variants: Record<string, () => Promise<unknown>> = {
    [FLOOR]: async () => {
      const { statusCode, body } = await pool.request({ path: "/status", method: "GET", headers: { authorization } });
      await body.json();
      ok("pool", statusCode);
    },
    "raw fetch": async () => (await fetch(`${url}/status`, { headers: { authorization } })).json(),
    [BARE]: async () => ok("bare", (await bare.GET("/status")).response.status),
    ky: async () => kyClient.get("status").json(),
    [AZURE]: async () => {
      const response = await pipeline.sendRequest(
        azureClient,
        azure.createPipelineRequest({ url: `${url}/status`, allowInsecureConnection: protocol === "http" }),
      );
      JSON.parse(response.bodyAsText ?? "");
      ok("azure", response.status);
    },
    [OURS]: async () => ok("ours", (await ours.GET("/status")).response.status),
    ...(oursBefore && { [PREVIOUS]: async () => ok("ours before", (await oursBefore.GET("/status")).response.status) }),
    "ours (mlServerLogin, global fetch)": async () =>
      ok("ours on fetch", (await oursOnFetch.GET("/status")).response.status),
    [OURS_WRAPPED]: async () => ok("ours wrapped", (await oursWrapped.GET("/status")).response.status),
    [BARE_WRAPPED]: async () => ok("bare wrapped", (await bareWrapped.GET("/status")).response.status),
  };
  for (const concurrency of [1, 64]) {
    const total = QUICK ? 800 : 1500;
    const rounds = QUICK ? 5 : 11;
    const rps: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
    const cpu: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
    for (const call of Object.values(variants)) await throughput(call, 300, concurrency); // warm-up
    for (let round = 0; round < rounds; round++) {
      // Interleaved, in a rotating order, so drift in machine load hits every variant alike.
      const names = Object.keys(variants);
      for (const name of [...names.slice(round % names.length), ...names.slice(0, round % names.length)]) {
        const sample = await throughput(variants[name]!, total, concurrency);
        rps[name]!.push(sample.rps);
        cpu[name]!.push(sample.cpuMicros);
      }
    }
    const figures: Record<
      string,
      { requestsPerSecond: Spread; clientCpuMicrosPerCall: Spread; oursThroughputRatio: Spread; oursCpuRatio: Spread }
    > = {};
    console.log(`  concurrency ${concurrency}:`);
    for (const name of Object.keys(variants)) {
      figures[name] = {
        requestsPerSecond: spread(rps[name]!),
        clientCpuMicrosPerCall: spread(cpu[name]!),
        oursThroughputRatio: ratios(rps[OURS]!, rps[name]!),
        oursCpuRatio: ratios(cpu[OURS]!, cpu[name]!),
      };
      const f = figures[name]!;
      console.log(
        `    ${name.padEnd(44)} ${f.requestsPerSecond.median.toFixed(0).padStart(6)} req/s  ` +
          `${f.clientCpuMicrosPerCall.median.toFixed(0).padStart(4)} µs CPU/call   ours / this: ` +
          `${show(f.oursThroughputRatio)} req/s, ${show(f.oursCpuRatio)} CPU`,
      );
    }
    const measuredAt = new Date().toISOString();
    const tag = `${prefix}${protocol} c${concurrency}`;
    row(`${tag}: ours / bare openapi-fetch, req/s`, show(figures[BARE]!.oursThroughputRatio), "goal >= 2x");
    row(
      `${tag}: ours / core-rest-pipeline, req/s`,
      show(figures[AZURE]!.oursThroughputRatio),
      `goal >= ${concurrency === 1 ? 1.1 : 1.5}x`,
    );
    row(`${tag}: ours / undici Pool.request (the floor), req/s`, show(figures[FLOOR]!.oursThroughputRatio));
    row(`${tag}: ours / undici Pool.request, client CPU per call`, show(figures[FLOOR]!.oursCpuRatio), "goal <= 1.3x");
    const wrapped = {
      throughput: ratios(rps[OURS_WRAPPED]!, rps[BARE_WRAPPED]!),
      cpu: ratios(cpu[OURS_WRAPPED]!, cpu[BARE_WRAPPED]!),
    };
    results[`overhead_${prefix.replace(" ", "_")}${protocol}_c${concurrency}`] = {
      rounds,
      callsPerRound: total,
      figures,
      wrapped,
      measuredAt,
    };
    row(`${tag}: with a wrapping middleware, ours / bare openapi-fetch, req/s`, show(wrapped.throughput), "goal >= 1x");
    row(`${tag}: with a wrapping middleware, ours / bare openapi-fetch, client CPU per call`, show(wrapped.cpu));
    if (figures[PREVIOUS]) {
      row(`${tag}: ours / ours before, req/s`, show(figures[PREVIOUS].oursThroughputRatio));
      row(`${tag}: ours / ours before, client CPU per call`, show(figures[PREVIOUS].oursCpuRatio));
    }
  }
  await pool.close();
}

/** A fetch that counts token-endpoint calls (login and renewal), for the client side's view. */
function countingFetch() {
  const counts = { login: 0, renew: 0, unauthorized: 0 };
  /** When each renewal was in flight (performance.now() start and end), to tell overlapping calls apart. */
  const renewals: [number, number][] = [];
  const wrapped = async (request: Request) => {
    const path = new URL(request.url).pathname;
    if (path === "/login") counts.login++;
    const renewal =
      path === "/login/refreshToken" && request.method === "POST"
        ? ([performance.now(), Infinity] as [number, number])
        : undefined;
    if (renewal) {
      counts.renew++;
      renewals.push(renewal);
    }
    const response = await fetch(request);
    if (renewal) renewal[1] = performance.now();
    if (response.status === 401 && !path.startsWith("/login")) counts.unauthorized++;
    return response;
  };
  return { counts, renewals, fetch: wrapped };
}

async function tokenRequests(): Promise<void> {
  console.log("\nToken requests under concurrency (1,000 concurrent calls)");
  const server = await devServer(3600);
  try {
    let offset = 0;
    const { counts, fetch: counting } = countingFetch();
    const client = createMlServerClient({
      baseUrl: server.url,
      auth: mlServerLogin({ ...ADMIN, clock: () => Date.now() + offset }),
      fetch: counting,
    });
    const cold = await Promise.all(Array.from({ length: 1000 }, () => client.GET("/status")));
    const coldLogins = counts.login;
    offset = 3_600_000; // the client's clock passes the token's expiry
    const expired = await Promise.all(Array.from({ length: 1000 }, () => client.GET("/status")));
    const failures = [...cold, ...expired].filter((r) => !r.response.ok).length;
    results.tokenRequests = { coldStartLogins: coldLogins, atExpiryRenewals: counts.renew, failedCalls: failures };
    row("cold start: token requests for 1,000 concurrent calls", String(coldLogins), "expected 1");
    row("at expiry: token requests for 1,000 concurrent calls", String(counts.renew), "expected 1");
    row("failed calls", String(failures), "expected 0");
  } finally {
    server.stop();
  }
}

async function steadyState(): Promise<void> {
  const seconds = QUICK ? 8 : 30;
  const lifetime = 2;
  console.log(
    `\nSteady state: 50 callers through mlServerLogin (${lifetime}-s tokens) and 50 with a static header, side ` +
      `by side for ${seconds} s`,
  );
  const server = await devServer(lifetime);
  try {
    const { counts, renewals, fetch: counting } = countingFetch();
    const ours = createMlServerClient({ baseUrl: server.url, auth: mlServerLogin(ADMIN), fetch: counting });
    const spans: [number, number][] = [];
    const bare = createClient<paths>({
      baseUrl: server.url,
      headers: { Authorization: `Bearer ${await accessToken(server.url, BASELINE)}` },
    });
    const latencies = { ours: [] as number[], baseline: [] as number[] };
    const seen = { ours: [] as number[], baseline: [] as number[] };
    await ours.GET("/status");
    counts.login = 0;
    const deadline = performance.now() + seconds * 1000;
    const caller = (name: "ours" | "baseline", call: () => Promise<{ response: Response }>) => async () => {
      while (performance.now() < deadline) {
        const started = performance.now();
        const { response } = await call();
        latencies[name].push(performance.now() - started);
        if (name === "ours") spans.push([started, performance.now()]);
        seen[name].push(response.status);
      }
    };
    await Promise.all([
      ...Array.from(
        { length: 50 },
        caller("ours", () => ours.GET("/status")),
      ),
      ...Array.from(
        { length: 50 },
        caller("baseline", () => bare.GET("/status")),
      ),
    ]);
    const p = (xs: number[], q: number) => percentile(xs, q);
    const expected = seconds / lifetime;
    const callers401 = seen.ours.filter((s) => s === 401).length;
    // Calls of ours whose span overlapped a renewal, against the rest: what a renewal costs callers.
    const overlapping: number[] = [];
    const clear: number[] = [];
    spans.forEach(([start, end], i) =>
      (renewals.some(([rs, re]) => start < re && end > rs) ? overlapping : clear).push(latencies.ours[i]!),
    );
    results.steadyState = {
      seconds,
      tokenLifetimeSeconds: lifetime,
      calls: { ours: seen.ours.length, baseline: seen.baseline.length },
      renewals: counts.renew,
      renewalsExpectedAbout: expected,
      logins: counts.login,
      unauthorizedSeenByCallers: callers401,
      serverSent401sResent: counts.unauthorized,
      p50ms: { ours: p(latencies.ours, 0.5), baseline: p(latencies.baseline, 0.5) },
      p99ms: { ours: p(latencies.ours, 0.99), baseline: p(latencies.baseline, 0.99) },
      p99msOfOursByRenewal: {
        overlapping: overlapping.length ? p(overlapping, 0.99) : null,
        notOverlapping: p(clear, 0.99),
        overlappingCalls: overlapping.length,
      },
    };
    row("401s seen by callers (ours)", String(callers401), "expected 0");
    row(
      "token requests (renewals) / (duration / lifetime)",
      `${counts.renew} / ${expected.toFixed(0)}`,
      `ratio ${(counts.renew / expected).toFixed(2)}`,
    );
    row(
      "p50 latency, ours / static-header baseline",
      `${(p(latencies.ours, 0.5) / p(latencies.baseline, 0.5)).toFixed(2)}x`,
    );
    row(
      "p99 latency, ours / static-header baseline",
      `${(p(latencies.ours, 0.99) / p(latencies.baseline, 0.99)).toFixed(2)}x`,
      "a refresh spike would show here",
    );
    row("in-flight 401s resent after a rotation (ours)", String(counts.unauthorized));
    if (overlapping.length) {
      row(
        "p99 latency of calls overlapping a renewal / the others",
        `${(p(overlapping, 0.99) / p(clear, 0.99)).toFixed(2)}x`,
        `${overlapping.length} of ${spans.length} calls overlapped one`,
      );
    }
  } finally {
    server.stop();
  }
}

async function coldStart(): Promise<void> {
  console.log("\nCold start: importing in a fresh process (built package vs openapi-fetch alone)");
  const time = async (specifier: string) => {
    const { stdout } = await run(process.execPath, [
      "--input-type=module",
      "-e",
      `const t = performance.now(); await import(${JSON.stringify(specifier)}); console.log(performance.now() - t);`,
    ]);
    return Number(stdout.trim());
  };
  const ourEntry = resolve("dist/bundle/src/index.js");
  const samples = { ours: [] as number[], openapiFetch: [] as number[] };
  for (let i = 0; i < (QUICK ? 5 : 15); i++) {
    samples.ours.push(await time(ourEntry));
    samples.openapiFetch.push(await time("openapi-fetch"));
  }
  const { stdout } = await run(process.execPath, [resolve("test/support/import-probe.mjs"), ourEntry]);
  const loaded = JSON.parse(stdout.trim().split("\n").at(-1)!) as string[];
  const heavy = ["@azure/msal-node", "simple-oauth2", "/undici/", "openapi-typescript", "/typescript/"].filter((h) =>
    loaded.some((u) => u.includes(h)),
  );
  const ratio = median(samples.ours) / median(samples.openapiFetch);
  results.coldStart = {
    medianMs: { ours: median(samples.ours), openapiFetch: median(samples.openapiFetch) },
    ratio,
    heavyModulesLoaded: heavy,
    modulesResolved: loaded.length,
  };
  row(
    "import time, mlserver-client / openapi-fetch",
    `${ratio.toFixed(2)}x`,
    `${median(samples.ours).toFixed(1)} ms vs ${median(samples.openapiFetch).toFixed(1)} ms`,
  );
  row(
    "msal-node, simple-oauth2, undici, TypeScript loaded by the import",
    heavy.length ? heavy.join(", ") : "none",
    "expected none",
  );
}

/**
 * A fleet: 8 worker processes of 50 callers each, signed in as one account, for 30 s with 2-second
 * tokens, against the dev server in strict session mode (a sign-in or renewal ends the account's
 * other sessions); once sharing tokens through Redis, once each on its own. Counters are read from
 * the dev server's counters route, since the server is another process.
 */
async function flushRedis(url: string): Promise<void> {
  const { createClient } = await import("redis");
  const client = createClient({ url });
  await client.connect();
  await client.sendCommand(["FLUSHALL"]);
  await client.close();
}

/**
 * The fleet of `fleet()` (8 processes x 50 callers, 2-second tokens, strict session mode) on a
 * Redis Cluster (3 masters, 3 replicas) and on a master with a replica under 3 sentinels; halfway
 * through each run the master holding the token set is killed with SIGKILL. Paced (500 ms between
 * calls) and back to back, each topology started afresh per run, over several rounds. Reports
 * failed calls, sign-ins, renewals per token lifetime and the longest call, as medians with their
 * spread.
 */
async function fleetFailover(): Promise<void> {
  const seconds = QUICK ? 10 : 30;
  const lifetime = 2;
  const rounds = QUICK ? 1 : Number(process.env.BENCH_FAILOVER_ROUNDS ?? 3);
  console.log(
    `\nFleet through a failover: 8 processes x 50 callers, ${seconds} s, ${lifetime}-second tokens, strict ` +
      `session mode; the set's master killed halfway; ${rounds} rounds`,
  );
  const { startRedisCluster, startRedisSentinel } = await import("../test/support/redis-topologies.js");
  const { createCluster } = await import("redis");
  const server = await devServer(lifetime, undefined, ["--session-mode", "strict"]);
  const counters = async (method: "GET" | "DELETE") =>
    (await (await fetch(`${server.url}/_devserver/counters`, { method })).json()) as Record<string, number>;
  type Worker = { ok: number; failed: Record<string, number>; longestMs: number };
  const runFleet = async (env: Record<string, string>, pauseMs: number, failover: () => Promise<void>) => {
    await counters("DELETE");
    const workers = Promise.all(
      Array.from({ length: 8 }, () =>
        run(process.execPath, ["--import", "tsx", "test/support/fleet-worker.ts"], {
          env: {
            ...process.env,
            SERVER_URL: server.url,
            CALLERS: "50",
            SECONDS: String(seconds),
            PAUSE_MS: String(pauseMs),
            ...env,
          },
          maxBuffer: 16 * 1024 * 1024,
        }).then(({ stdout }) => JSON.parse(stdout.trim().split("\n").at(-1)!) as Worker),
      ),
    );
    await new Promise((r) => setTimeout(r, (seconds / 2) * 1000));
    await failover();
    const done = await workers;
    const c = await counters("GET");
    const failed = done.reduce((n, w) => n + Object.values(w.failed).reduce((a, b) => a + b, 0), 0);
    // What the failed calls failed with, by error code or HTTP status, over every worker.
    for (const w of done)
      for (const [code, count] of Object.entries(w.failed)) failures[code] = (failures[code] ?? 0) + count;
    return {
      calls: done.reduce((n, w) => n + w.ok, 0) + failed,
      failed,
      signIns: c.logins!,
      renewalsPerLifetime: c.renewals! / (seconds / lifetime),
      longestCallMs: Math.max(...done.map((w) => w.longestMs)),
    };
  };
  const failures: Record<string, number> = {};
  type Run = Awaited<ReturnType<typeof runFleet>>;
  const topologies = {
    cluster: async (pauseMs: number) => {
      const cluster = await startRedisCluster();
      const client = createCluster({ rootNodes: cluster.rootNodes });
      client.on("error", () => {});
      await client.connect();
      try {
        return await runFleet({ REDIS_CLUSTER: JSON.stringify(cluster.rootNodes) }, pauseMs, async () => {
          for (const master of client.masters) {
            const [key] = await (await client.nodeClient(master)).keys("mlserver-client:*:tokens");
            if (key) return cluster.kill(await cluster.masterFor(key));
          }
        });
      } finally {
        client.destroy();
        await cluster.stop();
      }
    },
    sentinel: async (pauseMs: number) => {
      const sentinels = await startRedisSentinel();
      try {
        const env = {
          REDIS_SENTINEL: JSON.stringify({ name: sentinels.name, sentinelRootNodes: sentinels.sentinelRootNodes }),
        };
        return await runFleet(env, pauseMs, async () => sentinels.kill(await sentinels.master()));
      } finally {
        await sentinels.stop();
      }
    },
  };
  const runs: Record<string, Run[]> = {};
  // BENCH_FAILOVER_ONLY=sentinelPaced (for example) runs the named cases only.
  const only = process.env.BENCH_FAILOVER_ONLY?.split(",");
  try {
    for (let round = 0; round < rounds; round++) {
      for (const pauseMs of [500, 0]) {
        for (const [name, start] of Object.entries(topologies)) {
          const label = `${name}${pauseMs ? "Paced" : "BackToBack"}`;
          if (only && !only.includes(label)) continue;
          (runs[label] ??= []).push(await start(pauseMs));
        }
      }
    }
    const measured: Record<string, Record<keyof Run, Spread>> = {};
    for (const [label, list] of Object.entries(runs)) {
      const of = (k: keyof Run) => spread(list.map((r) => r[k]));
      measured[label] = {
        calls: of("calls"),
        failed: of("failed"),
        signIns: of("signIns"),
        renewalsPerLifetime: of("renewalsPerLifetime"),
        longestCallMs: of("longestCallMs"),
      };
      const m = measured[label];
      const range = (x: Spread, digits = 0) =>
        `${x.median.toFixed(digits)} (${x.min.toFixed(digits)}-${x.max.toFixed(digits)})`;
      row(`${label}: failed calls / calls`, `${range(m.failed)} / ${range(m.calls)}`);
      row(
        `${label}: sign-ins, renewals per lifetime`,
        `${range(m.signIns)}, ${range(m.renewalsPerLifetime, 2)}`,
        `longest call ${range(m.longestCallMs)} ms`,
      );
    }
    if (Object.keys(failures).length)
      row(
        "failed calls by error, every run",
        Object.entries(failures)
          .map(([code, count]) => `${code}: ${count}`)
          .join(", "),
      );
    results.fleetFailover = {
      processes: 8,
      callersEach: 50,
      seconds,
      tokenLifetimeSeconds: lifetime,
      sessionMode: "strict",
      rounds,
      failures,
      ...measured,
    };
  } finally {
    server.stop();
  }
}

async function fleet(): Promise<void> {
  const seconds = QUICK ? 10 : 30;
  const lifetime = 2;
  console.log(
    `\nFleet: 8 processes x 50 callers, ${seconds} s, ${lifetime}-second tokens, strict session mode; with ` +
      `Redis, then without`,
  );
  const server = await devServer(lifetime, undefined, ["--session-mode", "strict"]);
  const { freePort } = await import("../test/support/prism.js");
  const port = await freePort();
  const redisDir = mkdtempSync(join(tmpdir(), "mlserver-bench-redis-"));
  const redis = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", redisDir],
    { stdio: "ignore" },
  );
  try {
    await new Promise((r) => setTimeout(r, 500));
    const counters = async (method: "GET" | "DELETE") =>
      (await (await fetch(`${server.url}/_devserver/counters`, { method })).json()) as Record<string, number>;
    const runFleet = async (redisUrl: string | undefined, pauseMs = 0) => {
      await counters("DELETE");
      // Each fleet starts from an empty Redis: a set left by an earlier run belongs to a session
      // the runs without Redis have since ended, and would cost one refused renewal.
      if (redisUrl) await flushRedis(redisUrl);
      const workers = await Promise.all(
        Array.from({ length: 8 }, () =>
          run(process.execPath, ["--import", "tsx", "test/support/fleet-worker.ts"], {
            env: {
              ...process.env,
              SERVER_URL: server.url,
              CALLERS: "50",
              SECONDS: String(seconds),
              PAUSE_MS: String(pauseMs),
              ...(redisUrl && { REDIS_URL: redisUrl }),
            },
            maxBuffer: 16 * 1024 * 1024,
          }).then(
            ({ stdout }) =>
              JSON.parse(stdout.trim().split("\n").at(-1)!) as {
                ok: number;
                failed: Record<string, number>;
                warnings: string[];
              },
          ),
        ),
      );
      const warnings = [...new Set(workers.flatMap((w) => w.warnings))];
      if (warnings.length) console.log(`  warnings in the workers: ${warnings.join(" | ")}`);
      const c = await counters("GET");
      console.log(`  token refusals by reason: ${JSON.stringify(c.refusals)}`);
      const failedByCode: Record<string, number> = {};
      for (const w of workers)
        for (const [code, n] of Object.entries(w.failed)) failedByCode[code] = (failedByCode[code] ?? 0) + n;
      const failed = Object.values(failedByCode).reduce((a, b) => a + b, 0);
      return {
        ok: workers.reduce((n, w) => n + w.ok, 0),
        failed,
        failedByCode,
        warnings: warnings.length,
        logins: c.logins!,
        failedLogins: c.failedLogins!,
        renewals: c.renewals!,
        failedRenewals: c.failedRenewals!,
        unauthorized: c.unauthorized!,
        refusals: c.refusals as unknown as Record<string, number>,
      };
    };
    const withRedis = await runFleet(`redis://127.0.0.1:${port}`);
    const withoutRedis = await runFleet(undefined);
    // The same fleet below the server's capacity: each caller pauses between calls, as a worker
    // with work of its own does, so that calls do not queue for longer than a token lives.
    const pauseMs = 500;
    const pacedWithRedis = await runFleet(`redis://127.0.0.1:${port}`, pauseMs);
    const pacedWithoutRedis = await runFleet(undefined, pauseMs);
    const expected = seconds / lifetime;
    results.fleet = {
      processes: 8,
      callersEach: 50,
      seconds,
      tokenLifetimeSeconds: lifetime,
      sessionMode: "strict",
      renewalsExpectedAbout: expected,
      withRedis,
      withoutRedis,
      paced: { pauseMs, withRedis: pacedWithRedis, withoutRedis: pacedWithoutRedis },
    };
    row("with Redis: failed calls / calls", `${withRedis.failed} / ${withRedis.ok + withRedis.failed}`, "expected 0");
    row(
      "with Redis: fleet-wide renewals / (duration / lifetime)",
      `${withRedis.renewals} / ${expected}`,
      `logins ${withRedis.logins}`,
    );
    row(
      "without Redis: failed calls / calls",
      `${withoutRedis.failed} / ${withoutRedis.ok + withoutRedis.failed}`,
      JSON.stringify(withoutRedis.failedByCode),
    );
    row(
      "without Redis: logins, renewals (failed renewals)",
      `${withoutRedis.logins}, ${withoutRedis.renewals} (${withoutRedis.failedRenewals})`,
      `${(withoutRedis.logins / Math.max(1, withRedis.logins)).toFixed(0)}x the logins`,
    );
    row(
      `paced (${pauseMs} ms between calls), with Redis: failed / calls`,
      `${pacedWithRedis.failed} / ${pacedWithRedis.ok + pacedWithRedis.failed}`,
      `renewals ${pacedWithRedis.renewals}, logins ${pacedWithRedis.logins}`,
    );
    row(
      `paced (${pauseMs} ms between calls), without Redis: failed / calls`,
      `${pacedWithoutRedis.failed} / ${pacedWithoutRedis.ok + pacedWithoutRedis.failed}`,
      `logins ${pacedWithoutRedis.logins}`,
    );
  } finally {
    server.stop();
    redis.kill("SIGTERM");
    rmSync(redisDir, { recursive: true, force: true });
  }
}

/**
 * What tracing costs the client: CPU per call with `tracing: false` (the code path when
 * @opentelemetry/api is not installed: nothing loaded, no wrapper), with a tracer provider whose
 * sampler drops every span, and with every span sampled and exported to memory.
 */
async function tracingCost(): Promise<void> {
  console.log("\nTracing: client CPU per GET /status (concurrency 16), off / unsampled / sampled, interleaved rounds");
  const server = await devServer(3600);
  const otel = await import("@opentelemetry/api");
  const sdk = await import("@opentelemetry/sdk-trace-node");
  const exporter = new sdk.InMemorySpanExporter();
  const sampled = new sdk.NodeTracerProvider({ spanProcessors: [new sdk.SimpleSpanProcessor(exporter)] });
  const unsampled = new sdk.NodeTracerProvider({ sampler: new sdk.AlwaysOffSampler() });
  try {
    const off = createMlServerClient({ baseUrl: server.url, auth: mlServerLogin(ADMIN), tracing: false });
    const on = createMlServerClient({ baseUrl: server.url, auth: mlServerLogin(ADMIN) });
    await off.GET("/status");
    await on.GET("/status");
    const variants: Record<
      string,
      { client: typeof on; provider?: import("@opentelemetry/sdk-trace-node").NodeTracerProvider }
    > = {
      off: { client: off },
      unsampled: { client: on, provider: unsampled },
      sampled: { client: on, provider: sampled },
    };
    const cpu: Record<string, number[]> = { off: [], unsampled: [], sampled: [] };
    for (let round = 0; round < (QUICK ? 5 : 11); round++) {
      const names = Object.keys(variants);
      for (const name of [...names.slice(round % 3), ...names.slice(0, round % 3)]) {
        const { client, provider } = variants[name]!;
        otel.trace.disable();
        if (provider) otel.trace.setGlobalTracerProvider(provider);
        const { cpuMicros } = await throughput(async () => client.GET("/status"), QUICK ? 800 : 1500, 16);
        cpu[name]!.push(cpuMicros);
        exporter.reset();
      }
    }
    otel.trace.disable();
    const m = (name: string) => median(cpu[name]!);
    const spread = (name: string) => `${Math.min(...cpu[name]!).toFixed(0)}-${Math.max(...cpu[name]!).toFixed(0)} us`;
    results.tracingCost = {
      cpuMicrosPerCall: { off: m("off"), unsampled: m("unsampled"), sampled: m("sampled") },
      ratios: { unsampledOverOff: m("unsampled") / m("off"), sampledOverOff: m("sampled") / m("off") },
    };
    row("client CPU per call, tracing off", `${m("off").toFixed(0)} us`, spread("off"));
    row(
      "client CPU per call, unsampled / off",
      `${(m("unsampled") / m("off")).toFixed(2)}x`,
      `${m("unsampled").toFixed(0)} us, ${spread("unsampled")}`,
    );
    row(
      "client CPU per call, sampled / off",
      `${(m("sampled") / m("off")).toFixed(2)}x`,
      `${m("sampled").toFixed(0)} us, ${spread("sampled")}`,
    );
  } finally {
    server.stop();
    await sampled.shutdown();
    await unsampled.shutdown();
  }
}

async function cliStartup(): Promise<void> {
  console.log("\nCLI start-up: `mlserver --help` (the built bin) against `node -e 0`, in fresh processes, interleaved");
  const wall = async (args: string[]) => {
    const started = performance.now();
    await run(process.execPath, args);
    return performance.now() - started;
  };
  const samples = { cli: [] as number[], node: [] as number[] };
  for (let i = 0; i < (QUICK ? 7 : 21); i++) {
    samples.cli.push(await wall([resolve("dist/bundle/src/cli/main.js"), "--help"]));
    samples.node.push(await wall(["-e", "0"]));
  }
  const spread = (xs: number[]) => `${percentile(xs, 0.25).toFixed(0)}-${percentile(xs, 0.75).toFixed(0)} ms`;
  const ratio = median(samples.cli) / median(samples.node);
  results.cliStartup = {
    medianMs: { cli: median(samples.cli), node: median(samples.node) },
    interquartileMs: { cli: spread(samples.cli), node: spread(samples.node) },
    ratio,
    extraMs: median(samples.cli) - median(samples.node),
  };
  row(
    "mlserver --help / node -e 0, wall time",
    `${ratio.toFixed(2)}x`,
    `${median(samples.cli).toFixed(0)} ms (IQR ${spread(samples.cli)}) vs ${median(samples.node).toFixed(0)} ms ` +
      `(IQR ${spread(samples.node)})`,
  );
}

/**
 * The dev server's Python services in warm shells: a trivial service's consume latency (p50 and
 * p99 per round) beside the HTTP floor (`GET /status` on the same server) and what a cold start
 * per call would cost (starting the interpreter alone), 40 concurrent consumes, and a 1,000-row
 * batch at the server's parallelism. BENCH_PYTHON picks the interpreter (default Debian's).
 */
async function devserverPython(): Promise<void> {
  const python = process.env.BENCH_PYTHON ?? "/usr/bin/python3";
  console.log(`\nDev server Python services (warm shells, ${python}), ${ROUNDS} rounds`);
  const server = await devServer(3600, undefined, ["--python", python]);
  try {
    const token = await accessToken(server.url, ADMIN);
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const published = await fetch(`${server.url}/services/trivial/1`, {
      method: "POST",
      headers,
      body: JSON.stringify({
        runtimeType: "Python",
        code: "y = x + 1",
        inputParameterDefinitions: [{ name: "x", type: "integer" }],
        outputParameterDefinitions: [{ name: "y", type: "integer" }],
      }),
    });
    if (published.status !== 201) throw new Error(`publish failed: ${published.status} ${await published.text()}`);
    const consume = async (x: number) => {
      const answer = (await (
        await fetch(`${server.url}/api/trivial/1`, { method: "POST", headers, body: JSON.stringify({ x }) })
      ).json()) as { success: boolean };
      if (!answer.success) throw new Error("a consume failed");
    };
    const timed = async (call: () => Promise<unknown>) => {
      const started = performance.now();
      await call();
      return performance.now() - started;
    };
    for (let i = 0; i < 20; i++) await consume(i); // warm: the pool's shells exist
    const calls = QUICK ? 100 : 300;
    const p50: number[] = [],
      p99: number[] = [],
      floor: number[] = [],
      cold: number[] = [],
      concurrent: number[] = [],
      batch: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const latencies: number[] = [];
      const statuses: number[] = [];
      for (let i = 0; i < calls; i++) {
        latencies.push(await timed(() => consume(i)));
        statuses.push(await timed(() => fetch(`${server.url}/status`, { headers }).then((r) => r.arrayBuffer())));
      }
      p50.push(median(latencies));
      p99.push(percentile(latencies, 0.99));
      floor.push(median(statuses));
      const starts: number[] = [];
      for (let i = 0; i < 5; i++) starts.push(await timed(() => run(python, ["-c", "0"])));
      cold.push(median(starts));
      concurrent.push(await timed(() => Promise.all(Array.from({ length: 40 }, (_, x) => consume(x)))));
      if (round < (QUICK ? 1 : 3)) {
        batch.push(
          await timed(async () => {
            const started = await fetch(`${server.url}/api/trivial/1/batch`, {
              method: "POST",
              headers,
              body: JSON.stringify(Array.from({ length: 1000 }, (_, x) => ({ x }))),
            });
            const { batchExecutionId } = (await started.json()) as { batchExecutionId: string };
            for (;;) {
              const status = (await (
                await fetch(`${server.url}/api/trivial/1/batch/${batchExecutionId}`, { headers })
              ).json()) as { state: string; completedItemCount: number };
              if (status.state === "complete") return;
              await new Promise((r) => setTimeout(r, 20));
            }
          }),
        );
      }
    }
    const ms = (r: Spread, digits = 1) =>
      `${r.median.toFixed(digits)} ms (${r.min.toFixed(digits)}–${r.max.toFixed(digits)})`;
    results.devserverPython = {
      python,
      callsPerRound: calls,
      consumeP50Ms: spread(p50),
      consumeP99Ms: spread(p99),
      statusP50Ms: spread(floor),
      interpreterStartMs: spread(cold),
      concurrent40Ms: spread(concurrent),
      batch1000Ms: spread(batch),
    };
    row("trivial consume p50, warm shell", ms(spread(p50)), `GET /status p50 ${ms(spread(floor))}`);
    row("trivial consume p99, warm shell", ms(spread(p99)));
    row("interpreter start alone (what a cold shell per call cost)", ms(spread(cold), 0));
    row("40 concurrent consumes, wall time", ms(spread(concurrent), 0));
    row("1,000-row batch, start to complete", ms(spread(batch), 0));
  } finally {
    server.stop();
  }
}

/**
 * An R service beside a Python one on the same dev server, calls interleaved: the trivial consume
 * p50 of each and their ratio; and how `GET /status` and a sign-in answer while a pool as large as
 * the interpreter budget starts (its shells start in the background, a few at a time).
 */
async function devserverR(): Promise<void> {
  const python = process.env.BENCH_PYTHON ?? "/usr/bin/python3";
  const r = process.env.BENCH_RSCRIPT ?? "/usr/bin/Rscript";
  console.log(`\nDev server R beside Python (${r}, ${python}), ${ROUNDS} rounds; /status while a pool starts`);
  const server = await devServer(3600, undefined, ["--python", python, "--r", r]);
  try {
    const token = await accessToken(server.url, ADMIN);
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const publish = async (runtimeType: string, name: string, code: string) => {
      const definitions = {
        inputParameterDefinitions: [{ name: "x", type: "integer" }],
        outputParameterDefinitions: [{ name: "y", type: "integer" }],
      };
      const published = await fetch(`${server.url}/services/${name}/1`, {
        method: "POST",
        headers,
        body: JSON.stringify({ runtimeType, code, ...definitions }),
      });
      if (published.status !== 201) throw new Error(`publish failed: ${published.status} ${await published.text()}`);
    };
    await publish("R", "trivialR", "y <- x + 1");
    await publish("Python", "trivialPy", "y = x + 1");
    const timed = async (call: () => Promise<unknown>) => {
      const started = performance.now();
      await call();
      return performance.now() - started;
    };
    const consume = (name: string, x: number) =>
      fetch(`${server.url}/api/${name}/1`, { method: "POST", headers, body: JSON.stringify({ x }) }).then(
        async (response) => {
          if (!((await response.json()) as { success: boolean }).success) throw new Error("a consume failed");
        },
      );
    for (let i = 0; i < 20; i++) await Promise.all([consume("trivialR", i), consume("trivialPy", i)]);
    const calls = QUICK ? 100 : 200;
    const rP50: number[] = [];
    const pyP50: number[] = [];
    const statusP99: number[] = [];
    const signInP99: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const rs: number[] = [];
      const pys: number[] = [];
      for (let i = 0; i < calls; i++) {
        rs.push(await timed(() => consume("trivialR", i)));
        pys.push(await timed(() => consume("trivialPy", i)));
      }
      rP50.push(median(rs));
      pyP50.push(median(pys));
      // A pool as large as the budget (8 on 2 cores), started while status and sign-ins are timed.
      const pool = await fetch(`${server.url}/services/trivialPy/1/pool`, {
        method: "POST",
        headers,
        body: JSON.stringify({ InitialPoolSize: 8, MaxPoolSize: 8 }),
      });
      if (!pool.ok) throw new Error(`pool failed: ${pool.status} ${await pool.text()}`);
      const statuses: number[] = [];
      const signIns: number[] = [];
      for (let i = 0; i < 40; i++) {
        statuses.push(
          await timed(() => fetch(`${server.url}/status`, { headers }).then((answer) => answer.arrayBuffer())),
        );
        signIns.push(await timed(() => accessToken(server.url, ADMIN)));
      }
      statusP99.push(percentile(statuses, 0.99));
      signInP99.push(percentile(signIns, 0.99));
      await fetch(`${server.url}/services/trivialPy/1/pool`, { method: "DELETE", headers });
    }
    const ms = (s: Spread) => `${s.median.toFixed(1)} ms (${s.min.toFixed(1)}–${s.max.toFixed(1)})`;
    const ratio = spread(rP50.map((value, i) => value / pyP50[i]!));
    results.devserverR = {
      consumeP50Ms: { r: spread(rP50), python: spread(pyP50) },
      ratio,
      whilePoolStarts: { statusP99Ms: spread(statusP99), signInP99Ms: spread(signInP99) },
    };
    row(
      "trivial consume p50, R / Python, interleaved",
      `${ratio.median.toFixed(2)}x (${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)})`,
      `R ${ms(spread(rP50))} vs Python ${ms(spread(pyP50))}`,
    );
    row("while a pool of 8 shells starts: GET /status p99, sign-in p99", ms(spread(statusP99)), ms(spread(signInP99)));
  } finally {
    server.stop();
  }
}

/**
 * `mlserver token` with a cached, valid token (what a cron job or a credential helper runs on each
 * call) against `node -e 0`, in fresh processes, interleaved; and `npx mlserver --version` in this
 * clone, to show what npx itself adds (the prepare step links the bin, so nothing is installed).
 */
async function cliToken(): Promise<void> {
  console.log("\nCLI: `mlserver token` with a cached token, and npx's own cost, against `node -e 0`");
  const server = await devServer(3600);
  const home = mkdtempSync(join(tmpdir(), "mlserver-bench-cli-"));
  const env = {
    ...process.env,
    MLSERVER_CONFIG: join(home, "config.json"),
    MLSERVER_CACHE_DIR: join(home, "cache"),
    MLSERVER_PASSWORD: ADMIN.password,
  };
  try {
    await run(
      process.execPath,
      [resolve("dist/bundle/src/cli/main.js"), "login", "--server", server.url, "--username", ADMIN.username],
      { env },
    );
    const wall = async (command: string, args: string[]) => {
      const started = performance.now();
      await run(command, args, { env });
      return performance.now() - started;
    };
    const samples = { token: [] as number[], node: [] as number[], npx: [] as number[] };
    for (let i = 0; i < (QUICK ? 7 : 21); i++) {
      samples.token.push(await wall(process.execPath, [resolve("dist/bundle/src/cli/main.js"), "token"]));
      samples.node.push(await wall(process.execPath, ["-e", "0"]));
      if (i < 7) samples.npx.push(await wall("npx", ["mlserver", "--version"]));
    }
    const spread = (xs: number[]) => `${percentile(xs, 0.25).toFixed(0)}-${percentile(xs, 0.75).toFixed(0)} ms`;
    results.cliToken = {
      medianMs: { token: median(samples.token), node: median(samples.node), npx: median(samples.npx) },
      interquartileMs: { token: spread(samples.token), node: spread(samples.node), npx: spread(samples.npx) },
      ratio: median(samples.token) / median(samples.node),
    };
    row(
      "mlserver token (cached) / node -e 0, wall time",
      `${(median(samples.token) / median(samples.node)).toFixed(2)}x`,
      `${median(samples.token).toFixed(0)} ms (IQR ${spread(samples.token)}) vs ` +
        `${median(samples.node).toFixed(0)} ms (IQR ${spread(samples.node)})`,
    );
    row(
      "npx mlserver --version in a clone, wall time",
      `${median(samples.npx).toFixed(0)} ms`,
      `IQR ${spread(samples.npx)}; nothing installed, npm's own start`,
    );
  } finally {
    server.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

async function codegen(): Promise<void> {
  console.log(
    "\nCode generation: openapi/mlserver.yaml (ours: read, check, types and security map; baseline: " +
      "openapi-typescript alone)",
  );
  const {
    openapiTS: { default: openapiTS, astToString },
  } = await (await import("mlserver-client-toolchain")).loadToolchain();
  const text = readFileSync("openapi/mlserver.yaml", "utf8");
  const variants = {
    ours: () => generateFromSpec("openapi/mlserver.yaml", { output: "generated/mlserver.ts" }),
    openapiTypescript: async () => astToString(await openapiTS(YAML.parse(text), { silent: true })),
  };
  const samples = { ours: [] as number[], openapiTypescript: [] as number[] };
  await variants.ours();
  await variants.openapiTypescript();
  for (let i = 0; i < ROUNDS; i++) {
    for (const name of (i % 2
      ? ["ours", "openapiTypescript"]
      : ["openapiTypescript", "ours"]) as (keyof typeof variants)[]) {
      const started = performance.now();
      await variants[name]();
      samples[name].push(performance.now() - started);
    }
  }
  const ratio = median(samples.ours) / median(samples.openapiTypescript);
  results.codegen = {
    medianMs: { ours: median(samples.ours), openapiTypescript: median(samples.openapiTypescript) },
    ratio,
  };
  row(
    "regenerate core types, ours / openapi-typescript alone",
    `${ratio.toFixed(2)}x`,
    `${median(samples.ours).toFixed(0)} ms vs ${median(samples.openapiTypescript).toFixed(0)} ms`,
  );
}

console.log(
  `mlserver-client benchmarks${QUICK ? " (quick)" : ""}: node ${process.version}, ${cpus().length} cores, ` +
    `${ROUNDS} rounds`,
);
// BENCH_ONLY=overhead,coldStart runs some sections; a full (not quick) partial run replaces those
// sections in bench/results.json and keeps the others, each section saying when it was measured.
const only = process.env.BENCH_ONLY?.split(",").map((s) => s.trim());
const sections = {
  overhead,
  tokenRequests,
  steadyState,
  coldStart,
  cliStartup,
  cliToken,
  fleet,
  codegen,
  tracingCost,
  devserverPython,
  devserverR,
  fleetFailover,
};
for (const [name, section] of Object.entries(sections)) {
  if (only && !only.includes(name)) continue;
  await section();
  const measured = results[name];
  if (measured && typeof measured === "object") Object.assign(measured, { measuredAt: new Date().toISOString() });
}
if (only && QUICK) process.exit(0);
const previous = only ? (JSON.parse(readFileSync("bench/results.json", "utf8")) as Record<string, unknown>) : {};
const kept = ((previous.table as [string, string, string][] | undefined) ?? []).filter(
  ([name]) => !table.some(([n]) => n === name),
);
const merged: Record<string, unknown> = { ...previous, ...results };
merged.machine = {
  node: process.version,
  cores: cpus().length,
  cpu: cpus()[0]?.model,
  quick: QUICK,
  date: new Date().toISOString(),
};
merged.table = [...kept, ...table];
writeFileSync("bench/results.json", `${JSON.stringify(merged, null, 2)}\n`);
console.log("\nWrote bench/results.json");
if (results.overhead_https_c1) {
  writeOverheadChart(merged);
  console.log("Wrote docs/performance-chart.svg");
}
