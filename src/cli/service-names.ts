/**
 * The service names `mlserver services list` last saw for a profile, kept in the cache folder for
 * completion to offer on Tab without a request (names only, never a secret).
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

async function namesFile(profile: string): Promise<string> {
  const { defaultCacheDirectory } = await import("./runtime.js");
  return join(defaultCacheDirectory(), `completion-services-${encodeURIComponent(profile)}.json`);
}

/** Remembers a profile's service names. */
export async function rememberServiceNames(profile: string, names: string[]): Promise<void> {
  const file = await namesFile(profile);
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, JSON.stringify([...new Set(names)].sort()), { mode: 0o600 });
}

/** The names remembered for a profile; none when nothing was remembered. */
export async function rememberedServiceNames(profile: string): Promise<string[]> {
  return JSON.parse(await readFile(await namesFile(profile), "utf8").catch(() => "[]")) as string[];
}
