/**
 * Writing a file that only its owner may read, atomically: created 0600 and exclusively under a
 * temporary name (so no other user can read it even for a moment), flushed, then renamed over the
 * target (so a reader sees the whole old file or the whole new one, never half).
 */
import { nodeCrypto } from "./node-crypto.js";
// From node:fs/promises, not node:fs: an import of node:fs loads its streams (milliseconds at import).
import { constants, open, rename, unlink } from "node:fs/promises";

export async function writePrivateFile(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.${nodeCrypto().randomBytes(6).toString("hex")}.tmp`;
  try {
    const handle = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await handle.writeFile(text);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
}
