/**
 * The cheapest server the overhead benchmark can talk to, so that what it measures is the clients
 * more than the server: `POST /login` gives one token set (for any account), `GET /status` answers
 * the dev server's body to a request with that token and 401 to any other. Nothing else: no
 * sessions, no validation, no routes. Run in its own process, as the dev server is:
 *
 *   tsx bench/trivial-server.ts [--tls-key FILE --tls-cert FILE]
 *
 * It prints `listening on <url>` on a free loopback port.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { "tls-key": { type: "string" }, "tls-cert": { type: "string" } } });
const token = randomBytes(24).toString("base64url");
const tokens = JSON.stringify({
  access_token: token,
  refresh_token: randomBytes(24).toString("base64url"),
  token_type: "Bearer",
  expires_in: 3600,
});
const status = JSON.stringify({
  statusCode: "pass",
  details: { server: "mlserver-client bench trivial server" },
  components: {
    authentication: { statusCode: "pass", details: { type: "local" }, components: null },
    database: { statusCode: "pass", details: { type: "in-memory" }, components: null },
  },
});

function answer(response: ServerResponse, code: number, body: string): void {
  response.writeHead(code, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  response.end(body);
}

function handle(request: IncomingMessage, response: ServerResponse): void {
  // Every body is read to its end, so the connection stays usable for the next request.
  request.resume();
  request.once("end", () => {
    if (request.method === "POST" && request.url === "/login") return answer(response, 200, tokens);
    if (request.method !== "GET" || request.url !== "/status") return answer(response, 404, "{}");
    if (request.headers.authorization !== `Bearer ${token}`) return answer(response, 401, "{}");
    answer(response, 200, status);
  });
}

const key = values["tls-key"];
const cert = values["tls-cert"];
const server =
  key && cert
    ? createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, handle)
    : createHttpServer(handle);
// The benchmark leaves each peer's connections idle while the others run: a server closing one just
// as a peer reuses it would fail that peer's call (Node's default closes them after 5 s).
server.keepAliveTimeout = 10 * 60_000;
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  console.log(`listening on ${key ? "https" : "http"}://127.0.0.1:${port}`);
});
