/**
 * The default transport (undici's dispatcher API) keeps what fetch gave: streamed bodies both ways,
 * aborts, keep-alive, and a bound on connections when one is asked for.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { bearer, createMlServerClient } from "../../src/index.js";
import { hostileServers } from "../support/hostile.js";

const hostile = hostileServers();
const sha = (bytes: Uint8Array | string) => createHash("sha256").update(bytes).digest("hex");

describe("the default transport", () => {
  it("streams a 5 MB upload and a 5 MB download intact, and sends small bodies with a length", async () => {
    const big = new Uint8Array(5 * 1024 * 1024).map((_, i) => (i * 31) % 251);
    const server = await hostile((req, res) => {
      if (req.method === "GET")
        return void res.writeHead(200, { "content-type": "application/octet-stream" }).end(Buffer.from(big));
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({
          sha: sha(Buffer.from(req.body, "latin1")),
          length: req.headers["content-length"] ?? null,
          chunked: req.headers["transfer-encoding"] ?? null,
        }),
      );
    });
    const client = createMlServerClient({ baseUrl: server.url, auth: bearer("stream-token") });
    const upload = (body: Uint8Array<ArrayBuffer>) =>
      client.POST("/sessions/{id}/workspace/{objectName}", {
        params: { path: { id: "s", objectName: "o" } },
        body: new Blob([body]) as never,
        bodySerializer: (b) => b,
        headers: { "content-type": "application/octet-stream" },
      });
    expect((await upload(big)).data).toEqual({ sha: sha(big), length: null, chunked: "chunked" });
    const small = new Uint8Array(1000).fill(9);
    expect((await upload(small)).data).toEqual({ sha: sha(small), length: "1000", chunked: null });
    const { data } = await client.GET("/sessions/{id}/workspace/{objectName}", {
      params: { path: { id: "s", objectName: "o" } },
      parseAs: "arrayBuffer",
    });
    expect(sha(new Uint8Array(data as ArrayBuffer))).toBe(sha(big));
  });

  it("an abort while waiting for the answer rejects with the signal's reason, as fetch does", async () => {
    const server = await hostile(() => {}); // never answers
    const client = createMlServerClient({ baseUrl: server.url });
    const reason = new Error("caller gave up");
    const controller = new AbortController();
    setTimeout(() => controller.abort(reason), 50);
    await expect(client.GET("/status", { signal: controller.signal })).rejects.toBe(reason);
  });

  it("an abort after a redirect, while the next hop waits, rejects with the signal's reason", async () => {
    const controller = new AbortController();
    const reason = new Error("caller gave up");
    const server = await hostile((req, res) => {
      if (req.url === "/status") return void res.writeHead(307, { location: "/elsewhere" }).end();
      controller.abort(reason); // the second hop has arrived; it is never answered
    });
    const client = createMlServerClient({ baseUrl: server.url });
    await expect(client.GET("/status", { signal: controller.signal })).rejects.toBe(reason);
    expect(server.received.map((r) => r.url)).toEqual(["/status", "/elsewhere"]);
  });

  it("keeps connections alive, and opens no more than maxConnections to one origin", async () => {
    const server = await hostile(
      (_req, res) => void setTimeout(() => res.writeHead(200, { "content-type": "application/json" }).end("{}"), 5),
    );
    const bounded = createMlServerClient({ baseUrl: server.url, maxConnections: 2 });
    const results = await Promise.all(Array.from({ length: 40 }, () => bounded.GET("/status")));
    expect(results.every((r) => r.response.status === 200)).toBe(true);
    expect(server.connections()).toBeLessThanOrEqual(2);
    for (let i = 0; i < 10; i++) await bounded.GET("/status");
    expect(server.connections()).toBeLessThanOrEqual(2);
    expect(() => createMlServerClient({ baseUrl: server.url, maxConnections: 0 })).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_OPTION" }),
    );
  });
});
