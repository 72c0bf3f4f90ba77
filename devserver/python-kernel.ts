/**
 * One Python process that keeps its variables between commands: the engine of both sessions (a
 * process for the session's life) and services' warm shells (see `ServicePool`). Code runs with the dev
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

# The packages ML Server's Python runtime maps data to, and the SDK serialises with: used when
# installed, named in a clear error when a service or an object needs them and they are not.
try:
    import numpy
except ImportError:
    numpy = None
try:
    import pandas
except ImportError:
    pandas = None
try:
    import dill
except ImportError:
    dill = None
serializer = dill or pickle

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
# A warm shell's state after its init code: every request starts from it.
checkpoint = None

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

def code_failure(error):
    if isinstance(error, SystemExit):
        return failure("the code called sys.exit(%s)" % ("" if error.code is None else repr(error.code)))
    if isinstance(error, KeyboardInterrupt):
        return failure("the run was interrupted")
    return failure("".join(traceback.format_exception_only(type(error), error)).strip())

# ML Server's types as its Python runtime binds them: data.frame a pandas DataFrame (sent as
# columns, or as records), vector a numpy array, matrix a numpy matrix; null stays None (R's NA).
def bind(value, kind):
    if value is None:
        return None
    if kind == "data.frame":
        return pandas.DataFrame(value)
    if kind == "vector":
        return numpy.array(value)
    if kind == "matrix":
        return numpy.matrix(value)
    return value

def is_missing(value):
    return isinstance(value, float) and value != value

# Outputs go back in the same JSON forms: a DataFrame as columns (missing values as null), arrays
# and matrices as lists, numpy scalars as numbers.
def to_json(value):
    if pandas is not None and isinstance(value, pandas.DataFrame):
        return {str(name): [None if is_missing(v) or v is None else to_json(v) for v in column] for name, column in value.to_dict(orient="list").items()}
    if pandas is not None and isinstance(value, pandas.Series):
        return [None if is_missing(v) else to_json(v) for v in value.tolist()]
    if numpy is not None:
        if isinstance(value, numpy.ndarray):
            return value.tolist()
        if isinstance(value, numpy.generic):
            return value.item()
    return value

def json_problem(name, value):
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        return "output parameter '%s' cannot be sent as JSON: NaN and infinity have no JSON form" % name
    except TypeError:
        return "output parameter '%s' cannot be sent as JSON: a %s is not a JSON value" % (name, type(value).__name__)
    except RecursionError:
        return "output parameter '%s' cannot be sent as JSON: it nests too deeply" % name
    return None

# A warm shell outlives its requests, but nothing a request started may: after the run, every
# other process of the shell's group is killed (the group is the shell's own, see spawn).
def reap():
    me = os.getpid()
    try:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return
    for pid in pids:
        try:
            if pid != me and os.getpgid(pid) == me:
                os.kill(pid, signal.SIGKILL)
        except OSError:
            pass

def execute(command):
    try:
        return run_request(command)
    finally:
        if command.get("reset"):
            reap()

def run_request(command):
    global checkpoint
    if command.get("reset") and checkpoint is not None:
        scope.clear()
        scope.update(checkpoint)
    types_of = command.get("types") or {}
    try:
        scope.update({name: bind(value, types_of.get(name)) for name, value in (command.get("inputs") or {}).items()})
        if command.get("init"):
            run_code(command["init"], "<initCode>")
        run_code(command["code"], "<code>")
    except BaseException as error:
        return code_failure(error)
    outputs = {}
    for name in command.get("outputs") or []:
        if name not in scope:
            return failure("output parameter '%s' was not set by the code" % name)
        value = to_json(scope[name])
        problem = json_problem(name, value)
        if problem:
            return failure(problem)
        outputs[name] = value
    return {"success": True, "errorMessage": "", "outputParameters": outputs}

def initialize(command):
    global checkpoint
    try:
        if command.get("code"):
            run_code(command["code"], "<initCode>")
    except BaseException as error:
        reply = code_failure(error)
        reply["errorMessage"] = "the service's init code failed: " + reply["errorMessage"]
        return reply
    checkpoint = dict(scope)
    return {"success": True}

def unserialize(data, what):
    if dill is None and b"dill._dill" in data:
        raise ValueError("%s was serialised with dill, which the dev server's Python does not have: install dill there (pip install dill, or Debian's python3-dill)" % what)
    try:
        # dill reads plain pickles too, and what it wrote needs it.
        return serializer.loads(data)
    except ModuleNotFoundError as error:
        raise ValueError("%s needs the module %s, which the dev server's Python does not have" % (what, error.name))
    except Exception as error:
        raise ValueError("%s is not a Python pickle: %s" % (what, type(error).__name__))

def save(path):
    kept, skipped = {}, []
    for name in user_names():
        try:
            serializer.dumps(scope[name])
            kept[name] = scope[name]
        except Exception:
            skipped.append(name)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("workspace.pickle", serializer.dumps(kept))
        for name in sorted(os.listdir(".")):
            if os.path.isfile(name):
                archive.write(name, "files/" + name)
    return {"success": True, "objects": sorted(kept), "skipped": skipped}

def load(path):
    with zipfile.ZipFile(path) as archive:
        workspace = unserialize(archive.read("workspace.pickle"), "the snapshot's workspace")
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
    if op == "init":
        return initialize(command)
    if op == "list":
        return {"success": True, "names": user_names()}
    if op == "get":
        if command["name"] not in user_names():
            return failure("no object %s" % command["name"])
        try:
            return {"success": True, "data": base64.b64encode(serializer.dumps(scope[command["name"]])).decode()}
        except Exception as error:
            return failure("the object cannot be serialised: %s" % error)
    if op == "set":
        try:
            scope[command["name"]] = unserialize(base64.b64decode(command["data"]), "the body")
        except ValueError as error:
            return failure(str(error))
        return {"success": True}
    if op == "delete":
        if command["name"] not in user_names():
            return failure("no object %s" % command["name"])
        del scope[command["name"]]
        return {"success": True}
    if op == "save":
        return save(command["path"])
    if op == "load":
        try:
            return load(command["path"])
        except ValueError as error:
            return failure(str(error))
    return failure("unknown command")

# Ready: the dev server starts a command's time limit only now, so a slow start (a busy machine, a
# launcher shim) never counts against the code.
replies.write('{"ready": true}\n')
replies.flush()
for line in sys.stdin:
    marker = ""
    try:
        command = json.loads(line)
        marker = command["marker"]
        reply = handle(command)
    except BaseException as error:
        reply = failure("".join(traceback.format_exception_only(type(error), error)).strip())
    sys.stdout.flush()
    os.write(1, marker.encode())
    try:
        text = json.dumps(reply)
    except BaseException as error:
        text = json.dumps(failure("the reply could not be sent: %s" % type(error).__name__))
    replies.write(text + "\n")
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
   * Starts `python` (an interpreter's path; see `resolvePython`) in `cwd`. `interruptible`: a stopped run gets SIGINT first, so a session keeps its
   * variables; otherwise (one-off runs) the process group is killed at once.
   */
  constructor(python: string, cwd: string, private readonly interruptible: boolean) {
    this.#child = spawn(python, ["-I", "-u", "-c", KERNEL], { cwd, detached: true, stdio: ["pipe", "pipe", "ignore", "pipe"] });
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
      this.#child.on("error", (error) => ended(`${python} could not be started: ${error.message}`));
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
