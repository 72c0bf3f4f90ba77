/**
 * Input checks against a service's declared parameter types, as ML Server's runtimes apply them
 * when they bind inputs: a string for a `numeric` input is refused, naming the input, before any
 * code runs. `null` stands for R's NA and is accepted for every type.
 */
import type { ParameterDefinition } from "./service-swagger.js";

type Scalar = string | number | boolean | null;

const isScalar = (v: unknown): v is Scalar => v === null || ["string", "number", "boolean"].includes(typeof v);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

const CHECKS: Record<string, { ok: (v: unknown) => boolean; expected: string }> = {
  numeric: { ok: (v) => typeof v === "number", expected: "a number" },
  integer: { ok: (v) => Number.isInteger(v), expected: "a whole number" },
  logical: { ok: (v) => typeof v === "boolean", expected: "true or false" },
  character: { ok: (v) => typeof v === "string", expected: "a string" },
  vector: { ok: (v) => Array.isArray(v) && v.every(isScalar), expected: "an array of numbers, strings or booleans" },
  matrix: {
    ok: (v) =>
      Array.isArray(v) &&
      v.every((row) => Array.isArray(row) && row.length === (v[0] as unknown[]).length && row.every(isScalar)),
    expected: "an array of rows of equal length",
  },
  "data.frame": {
    ok: (v) =>
      (Array.isArray(v) && v.every((row) => isRecord(row) && Object.values(row).every(isScalar))) ||
      (isRecord(v) &&
        Object.values(v).every(
          (column) =>
            Array.isArray(column) &&
            column.length === (Object.values(v)[0] as unknown[]).length &&
            column.every(isScalar),
        )),
    expected: "an array of records or an object of equal-length columns",
  },
};

const describe = (v: unknown) =>
  Array.isArray(v) ? "an array" : v === null ? "null" : typeof v === "object" ? "an object" : `a ${typeof v}`;

/** One readable line per input given with a value its definition does not allow. */
export function inputProblems(definitions: ParameterDefinition[], inputs: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const { name, type } of definitions) {
    if (!(name in inputs) || inputs[name] === null) continue;
    const check = CHECKS[type];
    if (check && !check.ok(inputs[name]))
      problems.push(
        `input parameter '${name}' is declared ${type} and must be ${check.expected}, not ${describe(inputs[name])}`,
      );
  }
  return problems;
}
