/**
 * The Host check against DNS rebinding: a web page on `attacker.example` whose name is made to
 * resolve to 127.0.0.1 reaches the dev server with `Host: attacker.example`. Only the names the
 * server listens as (and those the user allows) are served; everything else is refused before any
 * other step, with the sign-in and the code runner out of reach.
 */
import type { IncomingMessage } from "node:http";

const LOOPBACK_NAMES = ["127.0.0.1", "localhost", "[::1]"];

/** The host name (lower case, IPv6 in brackets) and port of a Host header, or undefined when malformed. */
function parseHost(header: string): { name: string; port: string } | undefined {
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/i.exec(header.trim());
  return m ? { name: m[1]!.toLowerCase(), port: m[2] ?? "" } : undefined;
}

/**
 * Whether `req` names this server: a loopback name with the server's port, or a name in
 * `allowedHosts` (any port: such names usually sit behind a proxy or a port forward).
 */
export function hostAllowed(req: IncomingMessage, port: number, allowedHosts: readonly string[]): boolean {
  const host = parseHost(req.headers.host ?? "");
  if (!host) return false;
  if (allowedHosts.some((name) => name.toLowerCase() === host.name)) return true;
  return LOOPBACK_NAMES.includes(host.name) && host.port === String(port);
}
