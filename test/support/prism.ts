import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Prism as a validating proxy: every request and response checked against `spec`, violations reported per response. */
export async function startPrismProxy(
  spec: string,
  upstream: string,
): Promise<{ url: string; stop(): Promise<void>; output(): string }> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    ["node_modules/@stoplight/prism-cli/dist/index.js", "proxy", spec, upstream, "-p", String(port), "-h", "127.0.0.1"],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Prism did not start within 60 s:\n${output}`)), 60_000);
    const check = () => {
      if (output.includes("Prism is listening")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", check);
    child.once("exit", (code) => reject(new Error(`Prism exited with ${code}:\n${output}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

export interface Violation {
  location: string[];
  severity: string;
  code: string;
  message: string;
}

/**
 * Where Microsoft's 9.3.0 description is wrong about real servers. Each entry is tolerated, with
 * its reason; nothing else is. Suites also check that each really occurs, so no allowance outlives
 * its use.
 */
export const KNOWN_SPEC_ERRORS: { location: RegExp; code: string; reason: string }[] = [
  {
    location: /^response\.body\.expires_on$/,
    code: "type",
    reason:
      "the description types expires_on as a string; ML Server sends epoch seconds as a number (its own example " +
      "does too)",
  },
  {
    location: /^response\.body(\.components\.[^.]+)*\.details\.[^.]+$/,
    code: "type",
    reason:
      "status details are declared as maps of objects, but Microsoft's own example (like servers) has strings " +
      "and numbers there (logPath, rMaxPoolSize)",
  },
  {
    location: new RegExp(
      "^response\\.body\\.\\d+\\.(snapshotId|initCode|description|operationId|" +
        "inputParameterDefinitions|outputParameterDefinitions|outputFileNames)$",
    ),
    code: "type",
    reason:
      "ASP.NET writes a web service's unset fields as null (Microsoft's Python SDK reads them); the description " +
      "does not mark them nullable",
  },
  {
    location: /^response\.body(\.components\.[^.]+)+\.components$/,
    code: "type",
    reason:
      "a component without parts has components: null in Microsoft's own example; the description allows only " +
      "an object",
  },
];

/** The allowance that covers a violation, if any. */
export const knownSpecError = (v: Violation) =>
  KNOWN_SPEC_ERRORS.find((k) => k.location.test(v.location.join(".")) && k.code === v.code);

/**
 * A plain HTTP forwarder on loopback. Its target can change between tests, so one Prism process
 * can sit in front of each test's own dev server; `onResponse` sees every response's headers.
 */
export async function startForwarder(
  onResponse?: (method: string, path: string, headers: import("node:http").IncomingHttpHeaders) => void,
) {
  const { createServer, request } = await import("node:http");
  let target = "";
  const server = createServer((req, res) => {
    // As a reverse proxy does by default (nginx's proxy_set_header Host $proxy_host): the Host is the target's.
    const to = new URL(req.url ?? "/", target);
    const upstream = request(to, { method: req.method, headers: { ...req.headers, host: to.host } }, (answer) => {
      onResponse?.(req.method ?? "", req.url ?? "", answer.headers);
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    setTarget(url: string) {
      target = url;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
