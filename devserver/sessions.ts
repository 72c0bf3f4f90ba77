/**
 * Sessions and snapshots, as mrsdeploy and the Python SDK use them to publish: create a session,
 * run code, keep workspace objects and files, take a snapshot, close the session, publish a
 * service from the snapshot.
 *
 * A session is one Python or R process (see `Kernel`) with its variables and a working
 * directory; its workspace objects are pickles (Python) or R serialisations (R), and its snapshots
 * hold the runtime's workspace and the files, to be loaded only into a session of that runtime.
 */
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HttpError } from "./http-error.js";
import type { Engine } from "./engines.js";
import type { Kernel, KernelLimits, KernelOutcome, KernelReply } from "./kernel.js";

/** An R or Python session, as the dev server keeps it. */
export interface DevSession {
  id: string;
  name: string;
  owner: string;
  runtimeType: string;
  /** The code the session has run, oldest first. */
  history: string[];
}

/** A saved workspace and working directory, as a zip archive. */
export interface DevSnapshot {
  id: string;
  name: string;
  owner: string;
  /** The runtime of the session it was taken in: it loads only into a session of that runtime. */
  runtimeType: string;
  creationTime: string;
  archive: Buffer;
}

/** How much sessions and snapshots may hold (documented in the README's dev server section). */
export interface SessionLimits {
  timeLimitMs: number;
  outputLimitBytes: number;
  /** Open sessions per user. */
  maxSessions: number;
  /** Snapshots kept, all users together. */
  maxSnapshots: number;
  /** The largest snapshot archive. */
  maxSnapshotBytes: number;
}

interface LiveSession extends DevSession {
  root: string;
  cwd: string;
  engine: Engine;
  kernel: Kernel;
  lastConsoleOutput: string;
  /** Why the session's process ended by itself; calls then answer 410. */
  ended?: string;
}

/** One name in a working directory: no separators, no `..`, nothing hidden by the OS. */
function fileName(name: string): string {
  if (!name || name.length > 255 || /[/\\]/.test(name) || name.includes("\u0000") || name === "." || name === "..") {
    throw new HttpError(400, "a file name must be a plain name, without path separators", "RequestValidationException");
  }
  return name;
}

/** The snapshot, if it holds a workspace of `runtimeType`; a 400 otherwise. */
function sameRuntime(snapshot: DevSnapshot, runtimeType: string): DevSnapshot {
  if (snapshot.runtimeType !== runtimeType)
    throw new HttpError(
      400,
      `snapshot ${snapshot.id} holds a ${snapshot.runtimeType} workspace; load it into a ` +
        `${snapshot.runtimeType} session`,
      "RequestValidationException",
    );
  return snapshot;
}

export class SessionHost {
  readonly sessions = new Map<string, LiveSession>();
  readonly snapshots = new Map<string, DevSnapshot>();

  constructor(
    private readonly limits: SessionLimits,
    private readonly clock: () => number,
    /** The engine for a runtime; throws a 400 saying why when it cannot run here. */
    private readonly engine: (runtimeType: unknown) => Promise<Engine>,
    /** Makes room in the interpreter budget (idle pool shells stop) before a session starts one. */
    private readonly makeRoom: () => Promise<void> = async () => {},
  ) {}

  get #kernelLimits(): KernelLimits {
    return { timeLimitMs: this.limits.timeLimitMs, outputLimitBytes: this.limits.outputLimitBytes };
  }

  async create(
    owner: string,
    request: { name?: string; runtimeType?: string; snapshotId?: string },
  ): Promise<DevSession> {
    // Sessions still being started count too, so concurrent creates cannot pass the limit together.
    const open = [...this.sessions.values()].filter((s) => s.owner === owner).length + (this.#starting.get(owner) ?? 0);
    if (open >= this.limits.maxSessions)
      throw new HttpError(429, `you have ${open} open sessions, the dev server's limit per user; close one first`);
    this.#starting.set(owner, (this.#starting.get(owner) ?? 0) + 1);
    try {
      return await this.#create(owner, request);
    } finally {
      this.#starting.set(owner, this.#starting.get(owner)! - 1);
    }
  }

  readonly #starting = new Map<string, number>();

  async #create(
    owner: string,
    request: { name?: string; runtimeType?: string; snapshotId?: string },
  ): Promise<DevSession> {
    const runtimeType = request.runtimeType ?? "R";
    const snapshot = request.snapshotId === undefined ? undefined : this.snapshot(request.snapshotId, owner);
    if (snapshot) sameRuntime(snapshot, runtimeType);
    const engine = await this.engine(runtimeType);
    const id = randomUUID();
    const root = await mkdtemp(join(tmpdir(), "mlserver-devserver-session-"));
    const cwd = join(root, "work");
    await mkdir(cwd);
    let kernel: Kernel;
    try {
      await this.makeRoom();
      kernel = engine.start(cwd, true);
    } catch (error) {
      // No interpreter left in the budget (a 503): nothing of the session stays behind.
      await rm(root, { recursive: true, force: true });
      throw error;
    }
    const session: LiveSession = {
      id,
      name: request.name ?? id,
      owner,
      runtimeType,
      history: [],
      root,
      cwd,
      engine,
      kernel,
      lastConsoleOutput: "",
    };
    void kernel.exited.then(() => void (session.ended ??= `the session's ${engine.runtime} process ended`));
    this.sessions.set(id, session);
    if (snapshot) {
      try {
        await this.#load(session, snapshot);
      } catch (error) {
        await this.close(session, true);
        throw error;
      }
    }
    return session;
  }

  /** The caller's session, or 404 (absent or another user's) / 410 (its process has ended). */
  find(id: string, owner: string, options: { ended?: "allow" } = {}): LiveSession {
    const session = this.sessions.get(id);
    if (!session || session.owner !== owner) throw new HttpError(404, `session ${id} not found`, "NotFoundException");
    if (session.ended && options.ended !== "allow")
      throw new HttpError(
        410,
        `session ${id} has ended (${session.ended}); close it and start another`,
        "GoneException",
      );
    return session;
  }

  list(owner: string) {
    return [...this.sessions.values()]
      .filter((s) => s.owner === owner)
      .map(({ id, name, owner: o, runtimeType }) => ({ id, name, owner: o, runtimeType }));
  }

  async execute(
    session: LiveSession,
    request: { code: string; inputParameters?: { name: string; value?: unknown }[]; outputParameters?: string[] },
  ) {
    const { kernel } = session;
    session.history.push(request.code);
    const before = await this.#fileStamps(session);
    const inputs = Object.fromEntries((request.inputParameters ?? []).map((p) => [p.name, p.value ?? null]));
    const outputs = request.outputParameters ?? [];
    const { reply, consoleOutput, stopped } = await kernel.run<KernelReply>(
      { op: "execute", code: request.code, inputs, outputs },
      this.#kernelLimits,
    );
    session.lastConsoleOutput = consoleOutput;
    const after = await this.#fileStamps(session);
    const changedFiles = [...after].filter(([name, stamp]) => before.get(name) !== stamp).map(([name]) => name);
    const success = stopped === undefined && reply?.success === true;
    return {
      success,
      errorMessage: success ? "" : (stopped ?? reply?.errorMessage ?? "the run failed"),
      outputParameters: success
        ? Object.entries(reply!.outputParameters ?? {}).map(([name, value]) => ({ name, value }))
        : [],
      consoleOutput,
      changedFiles,
    };
  }

  consoleOutput(session: LiveSession): string {
    return session.kernel.busy ? session.kernel.consoleSoFar : session.lastConsoleOutput;
  }

  cancel(session: LiveSession): string {
    if (!session.kernel.busy) return "Nothing to cancel";
    session.kernel.stopCurrent("the run was cancelled");
    return "Cancelled";
  }

  async close(session: LiveSession, force: boolean): Promise<void> {
    if (session.kernel.busy && !force)
      throw new HttpError(409, `session ${session.id} is running code; cancel it first or close it by force`);
    this.sessions.delete(session.id);
    await session.kernel.dispose();
    await rm(session.root, { recursive: true, force: true });
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => this.close(s, true)));
  }

  // Workspace objects: pickles in a Python session, R serialisations in an R one.

  async objectNames(session: LiveSession): Promise<string[]> {
    return (await this.#command<{ names: string[] }>(session, { op: "list" })).names;
  }

  async getObject(session: LiveSession, name: string): Promise<Buffer> {
    return Buffer.from((await this.#command<{ data: string }>(session, { op: "get", name }, 404)).data, "base64");
  }

  async setObject(session: LiveSession, name: string, bytes: Buffer): Promise<void> {
    await this.#command(session, { op: "set", name, data: bytes.toString("base64") }, 400);
  }

  async deleteObject(session: LiveSession, name: string): Promise<void> {
    await this.#command(session, { op: "delete", name }, 404);
  }

  // Files in the session's working directory.

  async files(session: LiveSession): Promise<string[]> {
    return [...(await this.#fileStamps(session)).keys()];
  }

  async putFile(session: LiveSession, name: string, bytes: Buffer): Promise<void> {
    await writeFile(join(session.cwd, fileName(name)), bytes);
  }

  async getFile(session: LiveSession, name: string): Promise<Buffer> {
    try {
      return await readFile(join(session.cwd, fileName(name)));
    } catch (error) {
      if (error instanceof HttpError) throw error;
      throw new HttpError(404, `file ${name} not found in session ${session.id}`, "NotFoundException");
    }
  }

  async deleteFile(session: LiveSession, name: string): Promise<void> {
    try {
      await unlink(join(session.cwd, fileName(name)));
    } catch (error) {
      if (error instanceof HttpError) throw error;
      throw new HttpError(404, `file ${name} not found in session ${session.id}`, "NotFoundException");
    }
  }

  // Snapshots.

  async takeSnapshot(session: LiveSession, name: string | undefined): Promise<string> {
    if (this.snapshots.size >= this.limits.maxSnapshots)
      throw new HttpError(429, `the dev server keeps at most ${this.limits.maxSnapshots} snapshots; delete one first`);
    const id = randomUUID();
    const path = join(session.root, `${id}.zip`);
    try {
      this.#answer(session, await session.engine.save(session.kernel, session.cwd, path, this.#kernelLimits));
      const archive = await readFile(path);
      if (archive.length > this.limits.maxSnapshotBytes)
        throw new HttpError(
          413,
          `the snapshot would take ${archive.length} bytes, more than the ${this.limits.maxSnapshotBytes}-byte limit`,
        );
      this.snapshots.set(id, {
        id,
        name: name ?? id,
        owner: session.owner,
        runtimeType: session.runtimeType,
        creationTime: new Date(this.clock()).toISOString(),
        archive,
      });
      return id;
    } finally {
      await rm(path, { force: true });
    }
  }

  async loadSnapshot(session: LiveSession, snapshotId: string): Promise<void> {
    await this.#load(session, sameRuntime(this.snapshot(snapshotId, session.owner), session.runtimeType));
  }

  /** The caller's snapshot, or 404. */
  snapshot(id: string, owner: string): DevSnapshot {
    const snapshot = this.snapshots.get(id);
    if (!snapshot || snapshot.owner !== owner)
      throw new HttpError(404, `snapshot ${id} not found`, "NotFoundException");
    return snapshot;
  }

  listSnapshots(owner: string) {
    return [...this.snapshots.values()]
      .filter((s) => s.owner === owner)
      .map(({ id, name, owner: o, runtimeType, creationTime, archive }) => ({
        id,
        name,
        owner: o,
        runtimeType,
        creationTime,
        contentSize: archive.length,
      }));
  }

  deleteSnapshot(id: string, owner: string): void {
    this.snapshots.delete(this.snapshot(id, owner).id);
  }

  async #load(session: LiveSession, snapshot: DevSnapshot): Promise<void> {
    const path = join(session.root, `load-${randomUUID()}.zip`);
    try {
      await writeFile(path, snapshot.archive);
      this.#answer(session, await session.engine.load(session.kernel, session.cwd, path, this.#kernelLimits));
    } finally {
      await rm(path, { force: true });
    }
  }

  /** Runs a bookkeeping command; a failed reply is `failureStatus` with the kernel's message. */
  async #command<Reply>(session: LiveSession, command: Record<string, unknown>, failureStatus = 400): Promise<Reply> {
    return this.#answer(
      session,
      await session.kernel.run<KernelReply & Reply>(command, this.#kernelLimits),
      failureStatus,
    );
  }

  #answer<Reply extends KernelReply>(
    session: LiveSession,
    { reply, stopped }: KernelOutcome<Reply>,
    failureStatus = 400,
  ): Reply {
    if (stopped !== undefined) throw new HttpError(410, `session ${session.id} has ended: ${stopped}`, "GoneException");
    if (!reply!.success) throw new HttpError(failureStatus, reply!.errorMessage ?? "the command failed");
    return reply!;
  }

  /** Name → size and modification time of each file in the working directory. */
  async #fileStamps(session: LiveSession): Promise<Map<string, string>> {
    const stamps = new Map<string, string>();
    for (const name of await readdir(session.cwd)) {
      const info = await stat(join(session.cwd, name)).catch(() => undefined);
      if (info?.isFile()) stamps.set(name, `${info.size}:${info.mtimeMs}`);
    }
    return stamps;
  }
}
