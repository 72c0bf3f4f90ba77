/**
 * Encryption at rest for stored tokens: AES-256-GCM from node:crypto, a fresh 96-bit IV per write,
 * and the entry's key as additional data, so a sealed value moved to another entry fails to open.
 */
import { nodeCrypto } from "./node-crypto.js";
import { InvalidOptionError } from "../core/errors.js";
import type { MaybePromise } from "../core/fetch.js";

/** GCM authentication tags are written and accepted at their full 16 bytes only. */
const TAG_BYTES = 16;

/**
 * A 256-bit key: 32 bytes, or their base64 (e.g. `openssl rand -base64 32`) or hex; or a callback
 * that returns one (from a vault or a keychain).
 */
export type EncryptionKey = string | Uint8Array | (() => MaybePromise<string | Uint8Array>);

/** A sealed value, as stored. */
export interface Sealed {
  alg: "A256GCM";
  iv: string;
  tag: string;
  data: string;
}

function keyBytes(key: string | Uint8Array): Buffer {
  const bytes =
    typeof key !== "string"
      ? Buffer.from(key)
      : /^[0-9a-f]{64}$/i.test(key.trim())
        ? Buffer.from(key.trim(), "hex")
        : Buffer.from(key.trim(), "base64");
  if (bytes.length !== 32) {
    throw new InvalidOptionError(
      "The token encryption key must be 32 bytes: give 64 hex digits or 44 base64 characters, e.g. from " +
        "`openssl rand -base64 32`.",
    );
  }
  return bytes;
}

/** Seals and opens values with one key, resolved once. */
export class Sealer {
  #key: Promise<Buffer> | undefined;
  constructor(private readonly source: EncryptionKey) {}

  #resolve(): Promise<Buffer> {
    this.#key ??= Promise.resolve(typeof this.source === "function" ? this.source() : this.source).then(keyBytes);
    return this.#key;
  }

  /** Fails early on a malformed key (before anything is written). */
  async check(): Promise<void> {
    await this.#resolve();
  }

  async seal(plaintext: string, associated: string): Promise<Sealed> {
    const iv = nodeCrypto().randomBytes(12);
    const cipher = nodeCrypto().createCipheriv("aes-256-gcm", await this.#resolve(), iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(associated));
    const data = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return {
      alg: "A256GCM",
      iv: iv.toString("base64url"),
      tag: cipher.getAuthTag().toString("base64url"),
      data: data.toString("base64url"),
    };
  }

  /** The plaintext, or `undefined` when the value is not ours to open (another key, tampered, moved). */
  async open(sealed: unknown, associated: string): Promise<string | undefined> {
    const s = sealed as Partial<Sealed> | null;
    if (
      typeof s !== "object" ||
      s === null ||
      s.alg !== "A256GCM" ||
      typeof s.iv !== "string" ||
      typeof s.tag !== "string" ||
      typeof s.data !== "string"
    )
      return undefined;
    // The whole 128-bit tag, always: GCM accepts a cut tag, and a 4-byte one falls to 2^32 forgeries.
    const tag = Buffer.from(s.tag, "base64url");
    if (tag.length !== TAG_BYTES) return undefined;
    try {
      const decipher = nodeCrypto().createDecipheriv(
        "aes-256-gcm",
        await this.#resolve(),
        Buffer.from(s.iv, "base64url"),
        {
          authTagLength: TAG_BYTES,
        },
      );
      decipher.setAAD(Buffer.from(associated));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(Buffer.from(s.data, "base64url")), decipher.final()]).toString("utf8");
    } catch (error) {
      if (error instanceof InvalidOptionError) throw error;
      return undefined;
    }
  }
}
