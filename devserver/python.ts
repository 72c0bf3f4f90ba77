/**
 * Which Python runs services and sessions, found once: the interpreter a command or path starts
 * (a launcher shim such as pyenv's costs about 250 ms per start, so it is resolved to the binary
 * it runs), its version, and which of the packages ML Server's Python runtime relies on it has.
 */
import { execFile } from "node:child_process";

/** The packages the dev server's Python may need, and what for. */
export const PYTHON_PACKAGES = {
  numpy: "vector and matrix inputs and outputs (numpy arrays and matrices)",
  pandas: "data.frame inputs and outputs (pandas DataFrames)",
  dill: "workspace objects and snapshots serialised with dill, as Microsoft's Python SDK makes them",
} as const;

export type PythonPackage = keyof typeof PYTHON_PACKAGES;

/** A usable interpreter, or why there is none. */
export type PythonRuntime =
  | { ok: true; executable: string; version: string; packages: Record<PythonPackage, boolean> }
  | { ok: false; problem: string };

const PROBE = `
import importlib.util, json, sys
print(json.dumps({"executable": sys.executable, "version": sys.version.split()[0],
  "packages": {name: importlib.util.find_spec(name) is not None for name in sys.argv[1:]}}))
`;

/** Starts `command` once to learn the interpreter behind it; never rejects. */
export function resolvePython(command: string): Promise<PythonRuntime> {
  return new Promise((resolve) => {
    execFile(command, ["-I", "-c", PROBE, ...Object.keys(PYTHON_PACKAGES)], { timeout: 60_000 }, (error, stdout) => {
      if (error)
        return resolve({
          ok: false,
          problem: `the dev server's Python (${command}) could not be started: ${error.message.split("\n")[0]}`,
        });
      try {
        const found = JSON.parse(stdout) as {
          executable: string;
          version: string;
          packages: Record<PythonPackage, boolean>;
        };
        // An empty sys.executable (an embedded or unusual interpreter): keep the command as given.
        resolve({
          ok: true,
          executable: found.executable || command,
          version: found.version,
          packages: found.packages,
        });
      } catch {
        resolve({ ok: false, problem: `the dev server's Python (${command}) did not answer as Python 3 does` });
      }
    });
  });
}

/** The packages a service's declared parameter types need. */
export function packagesForTypes(types: readonly string[]): PythonPackage[] {
  const needed = new Set<PythonPackage>();
  for (const type of types) {
    if (type === "data.frame") needed.add("pandas").add("numpy");
    if (type === "vector" || type === "matrix") needed.add("numpy");
  }
  return [...needed];
}
