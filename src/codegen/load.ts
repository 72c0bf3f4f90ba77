import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Document } from "yaml";
import { SpecError } from "./errors.js";
import { toolchain } from "./toolchain.js";

/** A spec file as read: its text, where it came from, and a way to turn a JSON pointer into a line. */
export interface LoadedSpec {
  /** The file path or URL, as given (used in every message). */
  location: string;
  document: unknown;
  /** 1-based line and column of the value at a JSON pointer, when it can be found. */
  positionOf(pointer: string): { line: number; column: number } | undefined;
}

/** Reads a spec from a path or an http(s)/file URL, decodes it and parses it as JSON or YAML. */
export async function loadSpec(
  source: string,
  options: { fetch?: typeof fetch; headers?: HeadersInit } = {},
): Promise<LoadedSpec> {
  const bytes = await readSource(source, options);
  const text = decodeText(bytes, source);
  return await parseSpecText(text, source);
}

async function readSource(
  source: string,
  options: { fetch?: typeof fetch; headers?: HeadersInit },
): Promise<Uint8Array> {
  if (/^https?:\/\//i.test(source)) {
    let response: Response;
    try {
      response = await (options.fetch ?? fetch)(source, options.headers ? { headers: options.headers } : {});
    } catch (cause) {
      throw new SpecError(
        "ERR_SPEC_READ",
        { file: source },
        `could not be downloaded (${describe(cause)}). Check the URL and that the server is reachable.`,
        { cause },
      );
    }
    if (!response.ok) {
      throw new SpecError(
        "ERR_SPEC_READ",
        { file: source },
        `download failed with HTTP ${response.status}. Check the URL and the credentials.`,
        { response },
      );
    }
    return new Uint8Array(await response.arrayBuffer());
  }
  const path = source.startsWith("file:") ? fileURLToPath(source) : source;
  try {
    return await readFile(path);
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : describe(cause);
    throw new SpecError("ERR_SPEC_READ", { file: source }, `could not be read (${reason}).`, { cause });
  }
}

/**
 * UTF-8 (with or without a byte-order mark) and UTF-16 with a byte-order mark are decoded; anything
 * else is refused with the offending byte's position, because guessing a legacy code page (such as
 * Windows-1252, common in files saved by older Windows tools) would silently corrupt names.
 */
export function decodeText(bytes: Uint8Array, file: string): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder("utf-16le").decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder("utf-16be").decode(bytes.subarray(2));
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(start));
  } catch {
    const offset = firstInvalidUtf8(bytes, start);
    const before = new TextDecoder("utf-8").decode(bytes.subarray(start, offset));
    const line = before.split("\n").length;
    const column = before.length - before.lastIndexOf("\n");
    const hex = bytes[offset]?.toString(16).padStart(2, "0");
    throw new SpecError(
      "ERR_SPEC_ENCODING",
      { file, line, column },
      `is not UTF-8 (byte 0x${hex} at offset ${offset}); it looks like a legacy Windows code page such as ` +
        `Windows-1252. ` +
        `Re-save it as UTF-8, e.g. \`iconv -f WINDOWS-1252 -t UTF-8\`.`,
    );
  }
}

function firstInvalidUtf8(bytes: Uint8Array, start: number): number {
  for (let i = start; i < bytes.length; ) {
    const b = bytes[i]!;
    const need =
      b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (need < 0) return i;
    for (let k = 1; k <= need; k++) if (((bytes[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    i += need + 1;
  }
  return bytes.length;
}

/** Parses JSON strictly when the text looks like JSON, else YAML; errors carry line and column. */
export async function parseSpecText(text: string, location: string): Promise<LoadedSpec> {
  const { yaml: YAML } = await toolchain();
  const isNode = YAML.isNode;
  let yamlDocument: Document.Parsed | undefined;
  const yamlDoc = (): Document.Parsed =>
    (yamlDocument ??= YAML.parseDocument(text, { keepSourceTokens: false, uniqueKeys: false }));
  let document: unknown;
  if (/^\s*[{[]/.test(text)) {
    try {
      document = JSON.parse(text);
    } catch (cause) {
      const message = (cause as Error).message;
      const position = /position (\d+)/.exec(message)?.[1];
      const where = position === undefined ? yamlErrorPosition(yamlDoc()) : lineColumn(text, Number(position));
      throw new SpecError(
        "ERR_SPEC_PARSE",
        { file: location, ...where },
        `is not valid JSON: ${message.replace(/^.*?:\s*/, "")}`,
        { cause },
      );
    }
  } else {
    const doc = yamlDoc();
    const [first] = doc.errors;
    if (first) {
      const [pos] = first.linePos ?? [];
      const detail = first.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
      throw new SpecError(
        "ERR_SPEC_PARSE",
        { file: location, ...(pos && { line: pos.line, column: pos.col }) },
        `is not valid YAML: ${detail}`,
        { cause: first },
      );
    }
    document = doc.toJS({ maxAliasCount: 1000 });
  }
  return {
    location,
    document,
    positionOf(pointer) {
      const path = pointer
        .replace(/^#?\/?/, "")
        .split("/")
        .filter(Boolean)
        .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
      const node = yamlDoc().getIn(path, true);
      if (!isNode(node) || !node.range) return undefined;
      return lineColumn(text, node.range[0]);
    },
  };
}

function yamlErrorPosition(doc: Document.Parsed): { line?: number; column?: number } {
  const pos = doc.errors[0]?.linePos?.[0];
  return pos ? { line: pos.line, column: pos.col } : {};
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}

function describe(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code ?? (cause.cause as NodeJS.ErrnoException | undefined)?.code;
    return code ? `${code}: ${cause.message}` : cause.message;
  }
  return String(cause);
}
