/**
 * Benchmarks: `npm run bench` (BENCH_QUICK=1 for a shorter run). Every figure is a ratio or a count
 * against a baseline measured in the same run, interleaved, as the median of several rounds: these
 * machines are noisy, so absolute numbers mean little. Prints a table and writes bench/results.json.
 *
 * The dev server runs in its own process, so client and server do not share one event loop.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { resolve } from "node:path";
import { promisify } from "node:util";
import createClient from "openapi-fetch";
import YAML from "yaml";
import { createMlServerClient, mlServerLogin, type paths } from "../src/index.js";
import { generateFromSpec } from "../src/codegen/index.js";

const run = promisify(execFile);
const QUICK = process.env.BENCH_QUICK === "1";
const ROUNDS = QUICK ? 3 : 7;
const ADMIN = { username: "admin", password: "Admin-Pa55word!" };
const BASELINE = { username: "baseline", password: "Baseline-Pa55word!", accessTokenSeconds: 3600 };
const results: Record<string, unknown> = {};
const table: [string, string, string][] = [];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const row = (name: string, value: string, note = "") => {
  table.push([name, value, note]);
  console.log(`  ${name.padEnd(58)} ${value.padStart(14)}  ${note}`);
};

async function devServer(accessTokenSeconds: number): Promise<{ url: string; stop(): void }> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "devserver/main.ts", "--port", "0", "--access-token-seconds", String(accessTokenSeconds), "--users", JSON.stringify([ADMIN, BASELINE])], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise<string>((res, rej) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) res(m[1]!);
    });
    child.once("exit", (code) => rej(new Error(`dev server exited with ${code}`)));
  });
  return { url, stop: () => void child.kill("SIGTERM") };
}

async function accessToken(url: string, user: { username: string; password: string }): Promise<string> {
  const response = await fetch(`${url}/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: user.username, password: user.password }) });
  return ((await response.json()) as { access_token: string }).access_token;
}

/**
 * Requests per second for `total` calls at `concurrency`, and the client process's own CPU time per
 * call (user + system, microseconds). The server runs in another process, so the CPU figure is what
 * the client side costs, and it is far less sensitive to machine noise than throughput.
 */
async function throughput(call: () => Promise<unknown>, total: number, concurrency: number): Promise<{ rps: number; cpuMicros: number }> {
  let next = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < total) await call();
  }));
  const used = process.cpuUsage(cpu);
  return { rps: total / ((performance.now() - started) / 1000), cpuMicros: (used.user + used.system) / total };
}

async function overhead(): Promise<void> {
  console.log("\nOverhead: authenticated GET /status");
  const server = await devServer(3600);
  try {
    const token = await accessToken(server.url, ADMIN);
    const ours = createMlServerClient({ baseUrl: server.url, auth: mlServerLogin(ADMIN) });
    const bare = createClient<paths>({ baseUrl: server.url, headers: { Authorization: `Bearer ${token}` } });
    // What following redirects by our own rules costs Node's fetch by itself: init.redirect = "manual".
    const bareManual = createClient<paths>({ baseUrl: server.url, headers: { Authorization: `Bearer ${token}` }, fetch: (request: Request) => fetch(request, { redirect: "manual" }) });
    const variants: Record<string, () => Promise<unknown>> = {
      "raw fetch": async () => (await fetch(`${server.url}/status`, { headers: { authorization: `Bearer ${token}` } })).json(),
      "bare openapi-fetch + static header": async () => {
        const { response } = await bare.GET("/status");
        if (!response.ok) throw new Error(`bare: ${response.status}`);
      },
      "bare openapi-fetch + static header, redirect manual": async () => {
        const { response } = await bareManual.GET("/status");
        if (!response.ok) throw new Error(`bare manual: ${response.status}`);
      },
      "createMlServerClient + mlServerLogin": async () => {
        const { response } = await ours.GET("/status");
        if (!response.ok) throw new Error(`ours: ${response.status}`);
      },
    };
    for (const concurrency of [1, 64]) {
      const total = QUICK ? 800 : 1500;
      const rounds = QUICK ? 5 : 15;
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
      const med = (xs: Record<string, number[]>) => Object.fromEntries(Object.entries(xs).map(([k, v]) => [k, median(v)]));
      const medRps = med(rps);
      const medCpu = med(cpu);
      const OURS = "createMlServerClient + mlServerLogin";
      const BARE = "bare openapi-fetch + static header";
      const ratio = medRps[OURS]! / medRps[BARE]!;
      const cpuRatio = medCpu[OURS]! / medCpu[BARE]!;
      results[`overhead_c${concurrency}`] = {
        medianRequestsPerSecond: medRps, medianClientCpuMicrosPerCall: medCpu,
        oursVsBareOpenapiFetchRps: ratio, oursVsBareOpenapiFetchClientCpu: cpuRatio,
        bareOpenapiFetchVsRawFetchRps: medRps[BARE]! / medRps["raw fetch"]!, rounds, callsPerRound: total,
      };
      row(`concurrency ${concurrency}: ours / bare openapi-fetch (req/s)`, `${ratio.toFixed(3)}x`, ratio >= 0.95 ? "target >= 0.95x: met" : "target >= 0.95x: NOT met");
      row(`concurrency ${concurrency}: client CPU per call, ours / bare`, `${cpuRatio.toFixed(2)}x`, `${medCpu[OURS]!.toFixed(0)} µs vs ${medCpu[BARE]!.toFixed(0)} µs`);
      row(`concurrency ${concurrency}: bare openapi-fetch / raw fetch (req/s)`, `${(medRps[BARE]! / medRps["raw fetch"]!).toFixed(3)}x`);
      const MANUAL = "bare openapi-fetch + static header, redirect manual";
      row(`concurrency ${concurrency}: client CPU, bare with redirect manual / bare`, `${(medCpu[MANUAL]! / medCpu[BARE]!).toFixed(2)}x`, "what Node's fetch charges for not following redirects itself");
    }
  } finally {
    server.stop();
  }
}

/** A fetch that counts token-endpoint calls (login and renewal), for the client side's view. */
function countingFetch() {
  const counts = { login: 0, renew: 0, unauthorized: 0 };
  const wrapped = async (request: Request) => {
    const path = new URL(request.url).pathname;
    if (path === "/login") counts.login++;
    if (path === "/login/refreshToken" && request.method === "POST") counts.renew++;
    const response = await fetch(request);
    if (response.status === 401 && !path.startsWith("/login")) counts.unauthorized++;
    return response;
  };
  return { counts, fetch: wrapped };
}

async function tokenRequests(): Promise<void> {
  console.log("\nToken requests under concurrency (1,000 concurrent calls)");
  const server = await devServer(3600);
  try {
    let offset = 0;
    const { counts, fetch: counting } = countingFetch();
    const client = createMlServerClient({ baseUrl: server.url, auth: mlServerLogin({ ...ADMIN, clock: () => Date.now() + offset }), fetch: counting });
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
  console.log(`\nSteady state: 50 callers through mlServerLogin (${lifetime}-s tokens) and 50 with a static header, side by side for ${seconds} s`);
  const server = await devServer(lifetime);
  try {
    const { counts, fetch: counting } = countingFetch();
    const ours = createMlServerClient({ baseUrl: server.url, auth: mlServerLogin(ADMIN), fetch: counting });
    const bare = createClient<paths>({ baseUrl: server.url, headers: { Authorization: `Bearer ${await accessToken(server.url, BASELINE)}` } });
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
        seen[name].push(response.status);
      }
    };
    await Promise.all([
      ...Array.from({ length: 50 }, caller("ours", () => ours.GET("/status"))),
      ...Array.from({ length: 50 }, caller("baseline", () => bare.GET("/status"))),
    ]);
    const p = (xs: number[], q: number) => percentile(xs, q);
    const expected = seconds / lifetime;
    const callers401 = seen.ours.filter((s) => s === 401).length;
    results.steadyState = {
      seconds, tokenLifetimeSeconds: lifetime, calls: { ours: seen.ours.length, baseline: seen.baseline.length },
      renewals: counts.renew, renewalsExpectedAbout: expected, logins: counts.login, unauthorizedSeenByCallers: callers401,
      serverSent401sResent: counts.unauthorized,
      p50ms: { ours: p(latencies.ours, 0.5), baseline: p(latencies.baseline, 0.5) },
      p99ms: { ours: p(latencies.ours, 0.99), baseline: p(latencies.baseline, 0.99) },
    };
    row("401s seen by callers (ours)", String(callers401), "expected 0");
    row("token requests (renewals) / (duration / lifetime)", `${counts.renew} / ${expected.toFixed(0)}`, `ratio ${(counts.renew / expected).toFixed(2)}`);
    row("p50 latency, ours / static-header baseline", `${(p(latencies.ours, 0.5) / p(latencies.baseline, 0.5)).toFixed(2)}x`);
    row("p99 latency, ours / static-header baseline", `${(p(latencies.ours, 0.99) / p(latencies.baseline, 0.99)).toFixed(2)}x`, "a refresh spike would show here");
    row("in-flight 401s resent after a rotation (ours)", String(counts.unauthorized));
  } finally {
    server.stop();
  }
}

async function coldStart(): Promise<void> {
  console.log("\nCold start: importing in a fresh process (built package vs openapi-fetch alone)");
  const time = async (specifier: string) => {
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", `const t = performance.now(); await import(${JSON.stringify(specifier)}); console.log(performance.now() - t);`]);
    return Number(stdout.trim());
  };
  const ourEntry = resolve("dist/src/index.js");
  const samples = { ours: [] as number[], openapiFetch: [] as number[] };
  for (let i = 0; i < (QUICK ? 5 : 15); i++) {
    samples.ours.push(await time(ourEntry));
    samples.openapiFetch.push(await time("openapi-fetch"));
  }
  const { stdout } = await run(process.execPath, [resolve("test/support/import-probe.mjs"), ourEntry]);
  const loaded = JSON.parse(stdout.trim().split("\n").at(-1)!) as string[];
  const heavy = ["@azure/msal-node", "simple-oauth2", "/undici/", "openapi-typescript", "/typescript/"].filter((h) => loaded.some((u) => u.includes(h)));
  const ratio = median(samples.ours) / median(samples.openapiFetch);
  results.coldStart = { medianMs: { ours: median(samples.ours), openapiFetch: median(samples.openapiFetch) }, ratio, heavyModulesLoaded: heavy, modulesResolved: loaded.length };
  row("import time, mlserver-client / openapi-fetch", `${ratio.toFixed(2)}x`, `${median(samples.ours).toFixed(1)} ms vs ${median(samples.openapiFetch).toFixed(1)} ms`);
  row("msal-node, simple-oauth2, undici, TypeScript loaded by the import", heavy.length ? heavy.join(", ") : "none", "expected none");
}

async function codegen(): Promise<void> {
  console.log("\nCode generation: openapi/mlserver.yaml (ours: read, check, types and security map; baseline: openapi-typescript alone)");
  const { default: openapiTS, astToString } = await import("openapi-typescript");
  const text = readFileSync("openapi/mlserver.yaml", "utf8");
  const variants = {
    ours: () => generateFromSpec("openapi/mlserver.yaml", { output: "generated/mlserver.ts" }),
    openapiTypescript: async () => astToString(await openapiTS(YAML.parse(text), { silent: true })),
  };
  const samples = { ours: [] as number[], openapiTypescript: [] as number[] };
  await variants.ours();
  await variants.openapiTypescript();
  for (let i = 0; i < ROUNDS; i++) {
    for (const name of (i % 2 ? ["ours", "openapiTypescript"] : ["openapiTypescript", "ours"]) as (keyof typeof variants)[]) {
      const started = performance.now();
      await variants[name]();
      samples[name].push(performance.now() - started);
    }
  }
  const ratio = median(samples.ours) / median(samples.openapiTypescript);
  results.codegen = { medianMs: { ours: median(samples.ours), openapiTypescript: median(samples.openapiTypescript) }, ratio };
  row("regenerate core types, ours / openapi-typescript alone", `${ratio.toFixed(2)}x`, `${median(samples.ours).toFixed(0)} ms vs ${median(samples.openapiTypescript).toFixed(0)} ms`);
}

console.log(`mlserver-client benchmarks${QUICK ? " (quick)" : ""}: node ${process.version}, ${cpus().length} cores, ${ROUNDS} rounds`);
// BENCH_ONLY=overhead,coldStart runs some sections, and then writes no results file.
const only = process.env.BENCH_ONLY?.split(",").map((s) => s.trim());
const sections = { overhead, tokenRequests, steadyState, coldStart, codegen };
for (const [name, section] of Object.entries(sections)) if (!only || only.includes(name)) await section();
if (only) process.exit(0);
results.machine = { node: process.version, cores: cpus().length, cpu: cpus()[0]?.model, quick: QUICK, date: new Date().toISOString() };
results.table = table;
writeFileSync("bench/results.json", `${JSON.stringify(results, null, 2)}\n`);
console.log("\nWrote bench/results.json");
