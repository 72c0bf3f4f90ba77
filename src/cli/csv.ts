/**
 * CSV (RFC 4180: commas, double-quoted fields with "" for a quote, CRLF or LF line ends) for batch
 * inputs: a header row naming the inputs, then one row per run. Values are converted by the
 * service's declared input types, so `1.5` reaches a `numeric` input as a number.
 */
import { UsageError } from "./output.js";

/** The rows of a CSV text, every field a string; a malformed quote is a usage error naming the line. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  let line = 1;
  const body = text.replace(/^\uFEFF/, "");
  for (let i = 0; i < body.length; i++) {
    const char = body[i]!;
    if (quoted) {
      if (char === '"' && body[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') {
        quoted = false;
        const next = body[i + 1];
        if (next !== undefined && next !== "," && next !== "\n" && next !== "\r")
          throw new UsageError(`CSV line ${line}: a closing quote must end its field.`);
      } else {
        if (char === "\n") line++;
        field += char;
      }
    } else if (char === '"') {
      if (field !== "") throw new UsageError(`CSV line ${line}: a quote may only start a field.`);
      quoted = true;
    } else if (char === ",") {
      row.push(field);
      field = "";
    } else if (char === "\n" || char === "\r") {
      if (char === "\r" && body[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      line++;
    } else {
      field += char;
    }
  }
  if (quoted) throw new UsageError(`CSV line ${line}: a quoted field is not closed.`);
  if (field !== "" || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0] === ""));
}

/** Turns CSV rows into input objects, converting each value by its input's declared type. */
export function csvInputs(rows: string[][], types: Record<string, string>): Record<string, unknown>[] {
  const [header, ...data] = rows;
  if (!header) throw new UsageError("The CSV file is empty: it needs a header row naming the inputs.");
  const unknown = header.filter((name) => !(name in types));
  if (unknown.length && Object.keys(types).length)
    throw new UsageError(
      `The CSV header names ${unknown.map((n) => JSON.stringify(n)).join(", ")}, which the service does not ` +
        `take (its inputs: ${Object.keys(types).join(", ")}).`,
    );
  // Refused before anything is sent: every row would fail on the server.
  const missing = Object.keys(types).filter((name) => !header.includes(name));
  if (missing.length)
    throw new UsageError(
      `The CSV header lacks the service's input${missing.length > 1 ? "s" : ""} ` +
        `${missing.map((n) => JSON.stringify(n)).join(", ")}; add ` +
        `${missing.length > 1 ? "those columns" : "that column"}.`,
    );
  // Rows count from 1, the first after the header, as in the batch's results.
  return data.map((row, index) => {
    const where = `CSV row ${index + 1} (line ${index + 2})`;
    if (row.length !== header.length)
      throw new UsageError(`${where} has ${row.length} fields; the header has ${header.length}.`);
    return Object.fromEntries(header.map((name, i) => [name, convert(row[i]!, types[name], name, where)]));
  });
}

function convert(value: string, type: string | undefined, name: string, row: string): unknown {
  if (type === "numeric" || type === "integer") {
    const number = Number(value);
    if (value.trim() === "" || !Number.isFinite(number) || (type === "integer" && !Number.isInteger(number))) {
      throw new UsageError(
        `${row}: ${name} is ${type}, but the value is not ${type === "integer" ? "an integer" : "a number"}.`,
      );
    }
    return number;
  }
  if (type === "logical") {
    if (/^(true|t|1)$/i.test(value)) return true;
    if (/^(false|f|0)$/i.test(value)) return false;
    throw new UsageError(`${row}: ${name} is logical, but the value is not true or false.`);
  }
  return value;
}
