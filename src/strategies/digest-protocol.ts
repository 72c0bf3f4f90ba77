/**
 * HTTP Digest (RFC 7616), its stateless parts: the challenges of a `WWW-Authenticate` header, and
 * the `response` value that answers one. The RFC's test vectors check both.
 */

/** One challenge of a `WWW-Authenticate` header: its scheme (lower case) and parameters. */
export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses a `WWW-Authenticate` header, which may hold several challenges (RFC 9110 section 11.6.1):
 * `Digest realm="a, b", nonce="x", Basic realm="y"` gives two.
 */
export function parseChallenges(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let i = 0;
  const token = () => {
    const match = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/.exec(header.slice(i));
    i += match?.[0].length ?? 0;
    return match?.[0] ?? "";
  };
  const spaces = () => {
    while (i < header.length && /[\s,]/.test(header[i]!)) i++;
  };
  while (i < header.length) {
    spaces();
    const name = token();
    if (!name) break;
    while (header[i] === " " || header[i] === "\t") i++;
    if (header[i] !== "=") {
      challenges.push({ scheme: name.toLowerCase(), params: {} });
      continue;
    }
    i++;
    while (header[i] === " " || header[i] === "\t") i++;
    let value = "";
    if (header[i] === '"') {
      for (i++; i < header.length && header[i] !== '"'; i++) value += header[i] === "\\" ? header[++i] : header[i];
      i++;
    } else {
      value = /^[^,\s]*/.exec(header.slice(i))![0];
      i += value.length;
    }
    const current = challenges.at(-1);
    if (current) current.params[name.toLowerCase()] = value;
  }
  return challenges;
}

/** The algorithms answered, by their name in a challenge (upper case). */
export const ALGORITHMS: Record<string, { hash: "sha256" | "md5"; session: boolean }> = {
  "SHA-256": { hash: "sha256", session: false },
  "SHA-256-SESS": { hash: "sha256", session: true },
  MD5: { hash: "md5", session: false },
  "MD5-SESS": { hash: "md5", session: true },
};

/** The fields of one Digest answer; exported for the RFC 7616 test vectors. */
export interface DigestInput {
  username: string;
  password: string;
  method: string;
  uri: string;
  realm: string;
  nonce: string;
  algorithm: string;
  qop: "auth" | undefined;
  nc: number;
  cnonce: string;
}

/** node:crypto (for MD5, which Web Crypto lacks), loaded with the first challenge. */
let nodeCrypto: typeof import("node:crypto") | undefined;

/** The `response` value of RFC 7616 section 3.4.1. */
export async function digestResponse(input: DigestInput): Promise<string> {
  nodeCrypto ??= await import("node:crypto");
  const { createHash } = nodeCrypto;
  const { hash, session } = ALGORITHMS[input.algorithm.toUpperCase()]!;
  const h = (text: string) => createHash(hash).update(text, "utf8").digest("hex");
  let ha1 = h(`${input.username}:${input.realm}:${input.password}`);
  if (session) ha1 = h(`${ha1}:${input.nonce}:${input.cnonce}`);
  const ha2 = h(`${input.method}:${input.uri}`);
  const nc = input.nc.toString(16).padStart(8, "0");
  return input.qop
    ? h(`${ha1}:${input.nonce}:${nc}:${input.cnonce}:${input.qop}:${ha2}`)
    : h(`${ha1}:${input.nonce}:${ha2}`);
}
