/**
 * Files whose names a server chose (the files a run wrote, a batch's artifacts) saved into a folder
 * the user chose. The names are checked before anything is written, and each file is written to a
 * fresh temporary name and renamed into place, so a symlink or hard link already in the folder is
 * replaced, never written through.
 */
import { nodeCrypto } from "./stores/node-crypto.js";
import { mkdir, realpath, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { checkFileName } from "./file-names.js";

/**
 * Saves files named by a server into `folder` (made if missing): every name is checked first
 * ({@link checkFileName}), so a bad one leaves nothing written; then each file goes to a temporary
 * sibling and is renamed into place. Returns the paths written.
 *
 * @example
 * ```ts
 * const run = await remoteExecute(client, { code, getFiles: "changed" });
 * await saveServerFiles("results", run.files);
 * ```
 */
export async function saveServerFiles(
  folder: string,
  files: Readonly<Record<string, Uint8Array>>,
  source = "The server",
): Promise<string[]> {
  const names = Object.keys(files);
  for (const name of names) checkFileName(name, source);
  await mkdir(folder, { recursive: true });
  // Resolved once: the folder the user chose, wherever its own path's links lead.
  const real = await realpath(folder);
  const written: string[] = [];
  for (const name of names) {
    const target = join(real, name);
    const temp = join(real, `.mlserver-${nodeCrypto().randomBytes(6).toString("hex")}.tmp`);
    try {
      await writeFile(temp, files[name]!, { flag: "wx" });
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    written.push(join(folder, name));
  }
  return written;
}
