/**
 * The runtimes the dev server runs code in, behind one interface: how to start a kernel, and how
 * a kernel's workspace and files become a snapshot archive and back. Python's kernel packs its own
 * archive (`zipfile`); R has no zip writer, so R snapshots are packed here around an `.RData`.
 */
import { readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Kernel, KernelLimits, KernelOutcome, KernelReply } from "./kernel.js";
import { startPythonKernel } from "./python-kernel.js";
import { startRKernel } from "./r-kernel.js";
import { unzip, zip } from "./zip.js";

/** The runtimes services and sessions can have. */
export type Runtime = "Python" | "R";

export interface Engine {
  readonly runtime: Runtime;
  /** Starts a kernel in `cwd`; an interruptible one (a session's) keeps its state when a run is stopped. */
  start(cwd: string, interruptible: boolean): Kernel;
  /** Writes the kernel's workspace and the files in `cwd` to the archive at `archive`. */
  save(kernel: Kernel, cwd: string, archive: string, limits: KernelLimits): Promise<KernelOutcome<KernelReply>>;
  /** Replaces the kernel's workspace and the files in `cwd` with the archive's. */
  load(kernel: Kernel, cwd: string, archive: string, limits: KernelLimits): Promise<KernelOutcome<KernelReply>>;
}

/** The entry an R snapshot keeps its workspace in (a Python one's is `workspace.pickle`). */
const R_WORKSPACE = "workspace.RData";

/** The most an R snapshot may unpack to (the packed archive is capped by the session limits). */
const MAX_UNPACKED = 1024 * 1024 * 1024;

export function pythonEngine(python: string): Engine {
  return {
    runtime: "Python",
    start: (cwd, interruptible) => startPythonKernel(python, cwd, interruptible),
    save: (kernel, _cwd, archive, limits) => kernel.run<KernelReply>({ op: "save", path: archive }, limits),
    load: (kernel, _cwd, archive, limits) => kernel.run<KernelReply>({ op: "load", path: archive }, limits),
  };
}

const failed = (errorMessage: string): KernelOutcome<KernelReply> => ({
  consoleOutput: "",
  reply: { success: false, errorMessage },
});

export function rEngine(rscript: string): Engine {
  return {
    runtime: "R",
    start: (cwd, interruptible) => startRKernel(rscript, cwd, interruptible),
    async save(kernel, cwd, archive, limits) {
      const workspace = `${archive}.RData`;
      try {
        const saved = await kernel.run<KernelReply>({ op: "save", path: workspace }, limits);
        if (!saved.reply?.success) return saved;
        const entries = [{ name: R_WORKSPACE, data: await readFile(workspace) }];
        for (const name of (await readdir(cwd)).sort()) {
          if ((await stat(join(cwd, name))).isFile())
            entries.push({ name: `files/${name}`, data: await readFile(join(cwd, name)) });
        }
        await writeFile(archive, zip(entries));
        return saved;
      } finally {
        await rm(workspace, { force: true });
      }
    },
    async load(kernel, cwd, archive, limits) {
      let entries;
      try {
        entries = unzip(await readFile(archive), MAX_UNPACKED);
      } catch (error) {
        return failed(`the snapshot cannot be read: ${(error as Error).message}`);
      }
      const workspace = entries.find((entry) => entry.name === R_WORKSPACE);
      if (!workspace) return failed("the snapshot holds no R workspace");
      const path = `${archive}.RData`;
      try {
        await writeFile(path, workspace.data);
        const loaded = await kernel.run<KernelReply>({ op: "load", path }, limits);
        if (!loaded.reply?.success) return loaded;
        for (const name of await readdir(cwd)) await rm(join(cwd, name), { recursive: true, force: true });
        for (const { name, data } of entries) {
          const file = name.slice("files/".length);
          if (name.startsWith("files/") && file && !/[/\\]/.test(file) && file !== "." && file !== "..")
            await writeFile(join(cwd, file), data);
        }
        return loaded;
      } finally {
        await rm(path, { force: true });
      }
    },
  };
}
