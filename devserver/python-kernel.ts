/**
 * One Python process that keeps its variables between commands: the engine of both sessions (a
 * process for the session's life) and service runs (a process for one call). Code runs with the dev
 * server's rights: a DEVELOPMENT STAND-IN, NOT A SANDBOX.
 *
 * Why it is built this way:
 * - The process leads its own process group, so stopping a run stops whatever the code started
 *   (`subprocess.Popen` included): nothing outlives a time limit.
 * - Console output (stdout, and stderr joined to it) streams to the dev server, which counts it and
 *   stops the run at the limit; the Python side never buffers it, so memory stays bounded.
 * - Time limits count from the moment the kernel says it is ready, not from the spawn: starting
 *   Python on a busy machine can take longer than a run is allowed.
 * - Commands arrive on stdin and replies leave on fd 3, away from anything the code prints. After
 *   each command the kernel prints a random marker; a command is done once both the marker and the
 *   reply have arrived, so the console output of a run is complete when its result is.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";

// SIGINT is blocked except while user code runs, so an interrupt can only ever stop user code.
const KERNEL = String.raw`
import base64, json, os, pickle, signal, sys, threading, time, traceback, types, zipfile
os.dup2(1, 2)

# The process group outlives a dev server that dies without closing it (its runs are detached, to
# be killed as a group): when the parent is gone, the kernel kills its whole group.
parent = os.getppid()
def watch_parent():
    while True:
        time.sleep(0.25)
        if os.getppid() != parent:
            os.killpg(0, signal.SIGKILL)
threading.Thread(target=watch_parent, daemon=True).start()
replies = os.fdopen(3, "w", encoding="utf-8")
INT = {signal.SIGINT}
signal.pthread_sigmask(signal.SIG_BLOCK, INT)
scope = {"__name__": "__main__", "__builtins__": __builtins__}

def user_names():
    return [k for k, v in scope.items() if not k.startswith("_") and not isinstance(v, (types.ModuleType, type(len)))]

def run_code(code, label):
    if signal.SIGINT in signal.sigpending():
        signal.sigwait(INT)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, INT)
    try:
        exec(compile(code, label, "exec"), scope)
    finally:
        signal.pthread_sigmask(signal.SIG_BLOCK, INT)

def failure(message):
    return {"success": False, "errorMessage": message}

def json_problem(name, value):
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        return "output parameter '%s' cannot be sent as JSON: NaN and infinity have no JSON form" % name
    except TypeError:
        return "output parameter '%s' cannot be sent as JSON: a %s is not a JSON value" % (name, type(value).__name__)
    return None

def execute(command):
    scope.update(command.get("inputs") or {})
    try:
        if command.get("init"):
            run_code(command["init"], "<initCode>")
        run_code(command["code"], "<code>")
        outputs = {}
        for name in command.get("outputs") or []:
            if name not in scope:
                return failure("output parameter '%s' was not set by the code" % name)
            problem = json_problem(name, scope[name])
            if problem:
                return failure(problem)
            outputs[name] = scope[name]
        return {"success": True, "errorMessage": "", "outputParameters": outputs}
    except SystemExit as error:
        return failure("the code called sys.exit(%s)" % ("" if error.code is None else repr(error.code)))
    except KeyboardInterrupt:
        return failure("the run was interrupted")
    except BaseException as error:
        return failure("".join(traceback.format_exception_only(type(error), error)).strip())

def save(path):
    kept, skipped = {}, []
    for name in user_names():
        try:
            pickle.dumps(scope[name])
            kept[name] = scope[name]
        except Exception:
            skipped.append(name)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("workspace.pickle", pickle.dumps(kept))
        for name in sorted(os.listdir(".")):
            if os.path.isfile(name):
                archive.write(name, "files/" + name)
    return {"success": True, "objects": sorted(kept), "skipped": skipped}

def load(path):
    with zipfile.ZipFile(path) as archive:
        workspace = pickle.loads(archive.read("workspace.pickle"))
        for name in os.listdir("."):
            if os.path.isfile(name):
                os.remove(name)
        for entry in archive.namelist():
            name = entry[len("files/"):]
            if entry.startswith("files/") and name and "/" not in name and name not in (".", ".."):
                with open(name, "wb") as out:
                    out.write(archive.read(entry))
    for name in user_names():
        del scope[name]
    scope.update(workspace)
    return {"success": True}

def handle(command):
    op = command["op"]
    if op == "execute":
        return execute(command)
    if op == "list":
        return {"success": True, "names": user_names()}
    if op == "get":
        if command["name"] not in user_names():
            return failure("no object %s" % command["name"])
        try:
            return {"success": True, "data": base64.b64encode(pickle.dumps(scope[command["name"]])).decode()}
        except Exception as error:
            return failure("the object cannot be pickled: %s" % error)
    if op == "set":
        try:
            scope[command["name"]] = pickle.loads(base64.b64decode(command["data"]))
        except Exception as error:
            return failure("the body is not a Python pickle: %s" % type(error).__name__)
        return {"success": True}
    if op == "delete":
        if command["name"] not in user_names():
            return failure("no object %s" % command["name"])
        del scope[command["name"]]
        return {"success": True}
    if op == "save":
        return save(command["path"])
    if op == "load":
        return load(command["path"])
    return failure("unknown command")

# Ready: the dev server starts a command's time limit only now, so a slow start (a busy machine, a
# launcher shim) never counts against the code.
replies.write('{"ready": true}\n')
replies.flush()
for line in sys.stdin:
    command = json.loads(line)
    try:
        reply = handle(command)
    except BaseException as error:
        reply = failure("".join(traceback.format_exception_only(type(error), error)).strip())
    sys.stdout.flush()
    os.write(1, command["marker"].encode())
    replies.write(json.dumps(reply) + "\n")
    replies.flush()
`;

/** What every command answers; `execute` adds the outputs it read back. */
export interface KernelReply {
  success: boolean;
  errorMessage?: string;
  outputParameters?: Record<string, unknown>;
}

/** A command's reply, with what the code printed while it ran. */
export interface KernelOutcome<Reply> {
  /** Absent when the run was stopped or the process died: `stopped` then says why. */
  reply?: Reply;
  consoleOutput: string;
  stopped?: string;
}

export interface KernelLimits {
  timeLimitMs: number;
  outputLimitBytes: number;
  signal?: AbortSignal;
}

interface Pending {
  marker: string;
  console: Buffer[];
  bytes: number;
  tail: string;
  markerSeen: boolean;
  reply?: unknown;
  stopped?: string;
  finish(): void;
}

/** The longest reply accepted on fd 3 (a pickled object or a listing), so a reply cannot exhaust memory. */
const MAX_REPLY = 256 * 1024 * 1024;
/** How long Python may take to start and say it is ready; generous, as a loaded machine is slow. */
const START_LIMIT_MS = 60_000;
/** How long an interrupted run has to stop by itself before its process group is killed. */
const INTERRUPT_GRACE_MS = 2000;

export class PythonKernel {
  readonly #child: ChildProcess;
  #pending: Pending | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #replyBuffer = "";
  #exitReason: string | undefined;
  #ready = false;
  #onReady: (() => void) | undefined;
  readonly #started: Promise<void>;
  readonly exited: Promise<void>;

  /**
   * Starts python3 in `cwd`. `interruptible`: a stopped run gets SIGINT first, so a session keeps its
   * variables; otherwise (one-off runs) the process group is killed at once.
   */
  constructor(cwd: string, private readonly interruptible: boolean) {
    this.#child = spawn("python3", ["-I", "-u", "-c", KERNEL], { cwd, detached: true, stdio: ["pipe", "pipe", "ignore", "pipe"] });
    this.exited = new Promise((resolve) => {
      const ended = (reason: string) => {
        this.#exitReason ??= reason;
        this.#killGroup();
        const pending = this.#pending;
        if (pending) {
          pending.stopped ??= this.#exitReason;
          pending.finish();
        }
        resolve();
      };
      this.#child.on("exit", (code, signal) => ended(signal ? `Python was stopped by ${signal}` : `Python exited with status ${code}`));
      // A spawn failure (no python3) may come without an exit event.
      this.#child.on("error", (error) => ended(`python3 could not be started: ${error.message}`));
    });
    this.#started = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#exitReason ??= `Python did not start within ${START_LIMIT_MS / 1000} s`;
        this.#killGroup();
      }, START_LIMIT_MS);
      timer.unref();
      this.#onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      void this.exited.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.#child.stdin!.on("error", () => {});
    this.#child.stdout!.on("data", (chunk: Buffer) => this.#onConsole(chunk));
    this.#child.stdio[3]!.on("data", (chunk: Buffer) => this.#onReply(chunk));
  }

  /** Whether the process has ended (then every command fails with `stopped`). */
  get alive(): boolean {
    return this.#exitReason === undefined;
  }

  /** Runs one command after those already queued. */
  run<Reply>(command: Record<string, unknown>, limits: KernelLimits): Promise<KernelOutcome<Reply>> {
    const next = this.#queue.then(() => this.#started).then(() => this.#runNow<Reply>(command, limits));
    this.#queue = next.catch(() => {});
    return next;
  }

  /** Whether a command is running now. */
  get busy(): boolean {
    return this.#pending !== undefined;
  }

  /** What the running command has printed so far (empty when none runs). */
  get consoleSoFar(): string {
    const pending = this.#pending;
    return pending ? Buffer.concat(pending.console).toString("utf8").split(pending.marker)[0]!.slice(0, this.#outputLimit) : "";
  }

  /** Stops the running command, if any, as a time limit would. */
  stopCurrent(reason: string): void {
    if (this.#pending) this.#stop(this.#pending, reason);
  }

  /** Kills the process and everything it started. */
  dispose(): Promise<void> {
    this.#exitReason ??= "the process was closed";
    this.#killGroup();
    return this.exited;
  }

  #runNow<Reply>(command: Record<string, unknown>, limits: KernelLimits): Promise<KernelOutcome<Reply>> {
    return new Promise((resolve) => {
      if (!this.alive) return resolve({ consoleOutput: "", stopped: this.#exitReason! });
      const onAbort = () => this.#stop(pending, "the run was cancelled");
      const pending: Pending = {
        marker: `\u001e${randomBytes(12).toString("hex")}\u001e`,
        console: [], bytes: 0, tail: "", markerSeen: false,
        finish: () => {
          clearTimeout(timer);
          limits.signal?.removeEventListener("abort", onAbort);
          if (this.#pending === pending) this.#pending = undefined;
          const text = Buffer.concat(pending.console).toString("utf8");
          const consoleOutput = Buffer.from(text.split(pending.marker)[0]!).subarray(0, limits.outputLimitBytes).toString("utf8");
          resolve(pending.stopped !== undefined ? { consoleOutput, stopped: pending.stopped } : { consoleOutput, reply: pending.reply as Reply });
        },
      };
      this.#pending = pending;
      this.#outputLimit = limits.outputLimitBytes;
      const timer = setTimeout(() => this.#stop(pending, `the code ran longer than the ${limits.timeLimitMs} ms limit and was stopped`), limits.timeLimitMs);
      if (limits.signal?.aborted) return onAbort();
      limits.signal?.addEventListener("abort", onAbort, { once: true });
      this.#child.stdin!.write(`${JSON.stringify({ ...command, marker: pending.marker })}\n`);
    });
  }

  #outputLimit = 0;

  #onConsole(chunk: Buffer): void {
    const pending = this.#pending;
    if (!pending) return; // output of something still running between commands: not kept
    const seen = pending.tail + chunk.toString("latin1");
    if (pending.bytes < this.#outputLimit + pending.marker.length) {
      pending.console.push(chunk);
      pending.bytes += chunk.length;
    }
    if (seen.includes(pending.marker)) {
      pending.markerSeen = true;
      return this.#settle(pending);
    }
    pending.tail = seen.slice(-pending.marker.length);
    if (pending.bytes > this.#outputLimit) this.#stop(pending, this.#overLimit());
  }

  #overLimit(): string {
    return `the code produced more than ${this.#outputLimit} bytes of console output and was stopped`;
  }

  #onReply(chunk: Buffer): void {
    this.#replyBuffer += chunk.toString("utf8");
    if (this.#replyBuffer.length > MAX_REPLY) {
      this.#exitReason ??= "Python's reply was too large";
      this.#killGroup();
      return;
    }
    const newline = this.#replyBuffer.indexOf("\n");
    if (newline < 0) return;
    const line = this.#replyBuffer.slice(0, newline);
    this.#replyBuffer = this.#replyBuffer.slice(newline + 1);
    if (!this.#ready) {
      this.#ready = true;
      this.#onReady?.();
      return this.#onReply(Buffer.alloc(0));
    }
    const pending = this.#pending;
    if (!pending) return;
    try {
      pending.reply = JSON.parse(line);
    } catch {
      pending.stopped ??= "Python's reply could not be read";
    }
    this.#settle(pending);
  }

  /** A command is done when its reply and its marker have both arrived (or it was stopped). */
  #settle(pending: Pending): void {
    if (pending.reply === undefined || !pending.markerSeen) return;
    // The marker is the last thing a command prints: what came before it is the run's output, and
    // a run past the output limit is reported as stopped, whatever it answered.
    const text = Buffer.concat(pending.console).toString("utf8").split(pending.marker)[0]!;
    if (Buffer.byteLength(text) > this.#outputLimit) pending.stopped ??= this.#overLimit();
    pending.finish();
  }

  #stop(pending: Pending, reason: string): void {
    if (pending.stopped !== undefined) return;
    pending.stopped = reason;
    if (!this.interruptible) {
      this.#exitReason ??= reason;
      this.#killGroup();
      return;
    }
    this.#signalGroup("SIGINT");
    const escalate = setTimeout(() => {
      if (this.#pending !== pending) return;
      this.#exitReason ??= `${reason}; it did not stop when interrupted, so its process was killed`;
      pending.stopped = this.#exitReason;
      this.#killGroup();
    }, INTERRUPT_GRACE_MS);
    escalate.unref();
  }

  #signalGroup(signal: NodeJS.Signals): void {
    try {
      if (this.#child.pid) process.kill(-this.#child.pid, signal);
    } catch {
      // ESRCH: the group is already gone.
    }
  }

  #killGroup(): void {
    this.#signalGroup("SIGKILL");
  }
}
