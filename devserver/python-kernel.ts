/**
 * The Python program of a kernel (see `Kernel`): ML Server's Python runtime as the dev server
 * runs it, with numpy/pandas binding of inputs, dill or pickle for workspace objects, snapshots as
 * zip archives, and its process group reaped after each service run.
 */
import { Kernel } from "./kernel.js";

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
# and matrices as lists, numpy scalars as numbers and booleans, anywhere inside lists, tuples and
# dicts too (a list built from numpy input holds numpy scalars).
def to_json(value):
    if pandas is not None and isinstance(value, pandas.DataFrame):
        cell = lambda v: None if is_missing(v) or v is None else to_json(v)
        return {str(name): [cell(v) for v in column] for name, column in value.to_dict(orient="list").items()}
    if pandas is not None and isinstance(value, pandas.Series):
        return [None if is_missing(v) else to_json(v) for v in value.tolist()]
    if numpy is not None:
        if isinstance(value, numpy.ndarray):
            return value.tolist()
        if isinstance(value, numpy.generic):
            return value.item()
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(to_json(k)): to_json(v) for k, v in value.items()}
    return value

# Why a converted output cannot be JSON, naming the place inside it: output[2]["a"] is a set ...
def json_problem(name, value):
    def find(v, path, depth):
        if depth > 200:
            return "it nests too deeply"
        if v is None or isinstance(v, (bool, int, str)):
            return None
        if isinstance(v, float):
            if v == v and v not in (float("inf"), float("-inf")):
                return None
            return "NaN and infinity have no JSON form" + ("" if path == name else " (%s)" % path)
        if isinstance(v, list):
            for i, item in enumerate(v):
                found = find(item, "%s[%d]" % (path, i), depth + 1)
                if found:
                    return found
            return None
        if isinstance(v, dict):
            for key, item in v.items():
                found = find(item, "%s[%s]" % (path, json.dumps(key)), depth + 1)
                if found:
                    return found
            return None
        return "%s is a %s, which is not a JSON value" % (path, type(v).__name__)
    problem = find(value, name, 0)
    return None if problem is None else "output parameter '%s' cannot be sent as JSON: %s" % (name, problem)

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
        try:
            value = to_json(scope[name])
            problem = json_problem(name, value)
        except RecursionError:
            problem = "output parameter '%s' cannot be sent as JSON: it nests too deeply" % name
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
        raise ValueError(
            "%s was serialised with dill, which the dev server's Python does not have: "
            "install dill there (pip install dill, or Debian's python3-dill)" % what
        )
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

/** Starts a Python kernel: `python` is an interpreter's path (see `resolvePython`). */
export function startPythonKernel(python: string, cwd: string, interruptible: boolean): Kernel {
  return new Kernel({ language: "Python", command: python, args: ["-I", "-u", "-c", KERNEL] }, cwd, interruptible);
}
