/**
 * Servers that try to break the library's promises about credentials: each records everything it
 * receives (request line, headers, body) so a test can search it for secrets, and answers as the
 * test's handler says (redirect elsewhere, echo, stall, quote what it got...).
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { inspect } from "node:util";
import { afterEach } from "vitest";

export interface Received {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface HostileServer {
  url: string;
  origin: string;
  port: number;
  received: Received[];
  /** Connections accepted so far. */
  connections(): number;
  /** Everything received, as one text to search. */
  text(): string;
  close(): Promise<void>;
}

export type Handler = (request: Received, response: ServerResponse, raw: IncomingMessage) => void | Promise<void>;

/** Starts a server on 127.0.0.1 (HTTPS when `tls` is given) that records every request, then runs `handler`. */
export async function startHostile(handler: Handler, tls?: { key: string; cert: string }): Promise<HostileServer> {
  const received: Received[] = [];
  const sockets = new Set<Socket>();
  let accepted = 0;
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const entry = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: { ...req.headers },
        body: Buffer.concat(chunks).toString("latin1"),
      };
      received.push(entry);
      Promise.resolve(handler(entry, res, req)).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(error));
      });
    });
  };
  const server = tls ? createHttpsServer(tls, listener) : createHttpServer(listener);
  server.on(tls ? "secureConnection" : "connection", (socket: Socket) => {
    accepted++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const origin = `${tls ? "https" : "http"}://127.0.0.1:${port}`;
  return {
    url: origin,
    origin,
    port,
    received,
    connections: () => accepted,
    text: () => received.map((r) => `${r.method} ${r.url}\n${inspect(r.headers)}\n${r.body}`).join("\n"),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * For a test file: a function that starts a hostile server (as {@link startHostile}), each closed
 * after the test that started it.
 */
export function hostileServers(): (...args: Parameters<typeof startHostile>) => Promise<HostileServer> {
  let servers: HostileServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
  });
  return async (...args) => {
    const server = await startHostile(...args);
    servers.push(server);
    return server;
  };
}

/** The forms a secret can travel or be printed in. */
export function encodingsOf(secret: string): string[] {
  const b64 = Buffer.from(secret, "utf8").toString("base64");
  return [
    ...new Set([
      secret,
      encodeURIComponent(secret),
      encodeURIComponent(secret).replace(/%20/g, "+"),
      JSON.stringify(secret).slice(1, -1),
      b64,
      b64.replace(/=+$/, ""),
      Buffer.from(secret, "utf8").toString("base64url"),
    ]),
  ];
}

/** Every way a user or a logger may print an error: message, String, full inspect, each cause. */
export function renderings(error: unknown): string[] {
  const out: string[] = [];
  for (
    let e = error as { message?: unknown; stack?: unknown; cause?: unknown } | undefined, depth = 0;
    e !== undefined && e !== null && depth < 8;
    e = e.cause as typeof e, depth++
  ) {
    out.push(String(e), inspect(e, { showHidden: true, depth: Infinity }));
    if (typeof e === "object") {
      out.push(String(e.message), String(e.stack));
      try {
        out.push(JSON.stringify(e));
      } catch {
        // Not serialisable: nothing more to print.
      }
    }
  }
  return out;
}

/** The (secret form, text) pairs in which a secret shows up; empty when clean. */
export function findSecrets(texts: readonly string[], secrets: readonly string[]): string[] {
  const found: string[] = [];
  for (const secret of secrets) {
    for (const form of encodingsOf(secret)) {
      for (const text of texts)
        if (text.includes(form))
          found.push(`${JSON.stringify(form.slice(0, 6))}… in ${JSON.stringify(text.slice(0, 160))}`);
    }
  }
  return found;
}
