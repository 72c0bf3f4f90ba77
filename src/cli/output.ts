/**
 * How the CLI speaks: results on stdout (tables for people, `--json` for scripts), everything else
 * on stderr, colour only on a terminal and never with NO_COLOR, errors as one line, and documented
 * exit codes.
 */

/** Exit codes, documented in `mlserver --help` and the README. */
export const EXIT = {
  ok: 0,
  /** Anything not listed below. */
  failure: 1,
  /** Bad flags or arguments, or missing settings. */
  usage: 2,
  /** Not signed in, wrong credentials, a refused or expired session, or not allowed. */
  authentication: 3,
  /** The service (or another resource) does not exist. */
  notFound: 4,
  /** The server failed (5xx), or a service's code failed. */
  server: 5,
  /** The server or the authority could not be reached, or its certificate was not trusted. */
  network: 6,
  /** The server named a file that is not a plain file name: nothing was written. */
  unsafeFile: 7,
  /** Ctrl-C (128 + SIGINT). */
  interrupted: 130,
} as const;

/**
 * What Ctrl-C does while a command runs: by default the process ends with 130; a command with
 * something to undo first (a batch to cancel on the server) sets `handler` while it runs.
 */
export const interrupts: { handler?: () => void } = {};

/** Bad usage: the message, then a hint to `--help`; exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The streams the CLI writes to; anything with `write` (and optionally `isTTY`) in tests. */
export interface CliStreams {
  out: { write(text: string): unknown; isTTY?: boolean };
  err: { write(text: string): unknown; isTTY?: boolean };
}

const ANSI = {
  bold: "\x1b[1m",
  dim: "\x1b[2m",
  red: "\x1b[31m",
  green: "\x1b[32m",
  yellow: "\x1b[33m",
  reset: "\x1b[0m",
} as const;
type Style = Exclude<keyof typeof ANSI, "reset">;

// C0 controls but tab and newline (and CR before a newline), DEL and C1 controls.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROLS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]|\r(?!\n)/g;
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROLS_AND_NEWLINES = /[\u0000-\u001f\u007f-\u009f]/g;
const hex = (c: string) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;

/**
 * Text a server chose, safe for a terminal: control characters (ESC, BEL, CR, C1 ...) shown as
 * `\xNN`, so that no name or message can retitle, clear or rewrite the user's screen. With
 * `singleLine`, newlines and tabs too (table cells, one-line errors).
 */
export function printable(text: string, { singleLine = false } = {}): string {
  return text.replace(singleLine ? CONTROLS_AND_NEWLINES : CONTROLS, hex);
}

export class Output {
  readonly json: boolean;
  /** `--quiet`: no progress and no warnings, only results and errors. */
  readonly quiet: boolean;
  readonly #colour: boolean;
  // style() marks its text with this (a noncharacter and a random nonce no server can guess);
  // #render escapes everything else and only then turns the marks into colour, or drops them.
  readonly #mark = `\ufdd0${Math.random().toString(36).slice(2, 10)}`;
  constructor(
    readonly streams: CliStreams,
    options: { json?: boolean; quiet?: boolean; env?: NodeJS.ProcessEnv } = {},
  ) {
    this.json = options.json === true;
    this.quiet = options.quiet === true;
    const env = options.env ?? process.env;
    this.#colour = !this.json && streams.out.isTTY === true && env.NO_COLOR === undefined && env.TERM !== "dumb";
  }

  /** `text` in a style, shown only on a colour terminal; its text is escaped when printed. */
  style(text: string, style: Style): string {
    return `${this.#mark}${style}:${printable(text)}${this.#mark}reset:`;
  }

  /** Every human line leaves through here: escaped, then styled. */
  #render(text: string): string {
    const [first = "", ...rest] = text.split(this.#mark);
    let rendered = printable(first);
    for (const part of rest) {
      const colon = part.indexOf(":");
      if (this.#colour) rendered += ANSI[part.slice(0, colon) as keyof typeof ANSI];
      rendered += printable(part.slice(colon + 1));
    }
    return rendered;
  }

  /** A note on stderr (never on stdout, which scripts read). */
  note(text: string): void {
    this.streams.err.write(`${this.#render(text)}\n`);
  }

  /** What to do next, one line on stderr for people (not with --json or --quiet). */
  next(text: string): void {
    if (!this.json && !this.quiet) this.streams.err.write(`Next: ${this.#render(text)}\n`);
  }

  /** A warning on stderr, one line, unless --quiet. */
  warn(text: string): void {
    if (!this.quiet) this.streams.err.write(`mlserver: warning: ${this.#render(text)}\n`);
  }

  /** The command's result: JSON in --json mode (exact), else `human()`'s lines, escaped. */
  result(value: unknown, human: () => string | undefined): void {
    if (this.json) {
      this.streams.out.write(`${JSON.stringify(value, null, 2)}\n`);
      return;
    }
    const text = human();
    if (text !== undefined) this.streams.out.write(this.#render(text.endsWith("\n") ? text : `${text}\n`));
  }

  /** Text for stdout as it is (a document, a token in the shape asked for), escaped all the same. */
  text(text: string): void {
    this.streams.out.write(printable(text.endsWith("\n") ? text : `${text}\n`));
  }

  /** Rows as an aligned table with a header; each cell on one line, escaped. */
  table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
    // A styled cell was escaped by style(); it still must stay on one line.
    const cells = rows.map((row) =>
      row.map((cell) =>
        cell.includes(this.#mark) ? cell.replace(/[\n\t]/g, hex) : printable(cell, { singleLine: true }),
      ),
    );
    const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? "").length)));
    const render = (line: readonly string[]) =>
      line
        .map((c, i) => (i === line.length - 1 ? c : c.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd();
    return [this.style(render(headers), "bold"), ...cells.map(render)].join("\n");
  }

  /**
   * Progress of `total` steps, on stderr (stdout stays the result's): a redrawn bar when stderr is a
   * terminal; otherwise a plain line at most every 10% or 5 s, and at the end; nothing with --quiet.
   * `end()` finishes the bar's line, so that nothing written after it glues onto it.
   */
  progress(label: string, clock: () => number = Date.now): { update(done: number, total: number): void; end(): void } {
    const err = this.streams.err;
    const terminal = err.isTTY === true;
    label = printable(label, { singleLine: true });
    let last = -1;
    let lastLine = { done: -1, at: 0 };
    let drawn = false;
    return {
      update: (done, total) => {
        if (this.quiet || done === last) return;
        last = done;
        if (!terminal) {
          const step = Math.max(1, Math.ceil(total / 10));
          const due = done === total || done - lastLine.done >= step || clock() - lastLine.at >= 5000;
          if (!due) return;
          lastLine = { done, at: clock() };
          err.write(`${label}: ${done}/${total}\n`);
          return;
        }
        const width = 30;
        const filled = total === 0 ? width : Math.round((done / total) * width);
        err.write(`\r${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total}`);
        drawn = true;
      },
      end: () => {
        if (drawn) err.write("\n");
        drawn = false;
      },
    };
  }
}

/** A time as people read it: ISO, and how far away. */
export function when(epochMs: number, now = Date.now()): string {
  const seconds = Math.round((epochMs - now) / 1000);
  const span =
    Math.abs(seconds) < 120
      ? `${Math.abs(seconds)} s`
      : Math.abs(seconds) < 7200
        ? `${Math.round(Math.abs(seconds) / 60)} min`
        : `${Math.round(Math.abs(seconds) / 3600)} h`;
  return `${new Date(epochMs).toISOString()} (${seconds >= 0 ? `in ${span}` : `${span} ago`})`;
}

/** The candidate closest to `word` (by edit distance, at most a third of its length), for "did you mean". */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const distance = (a: string, b: string) => {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const next = [i];
      for (let j = 1; j <= b.length; j++)
        next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      row = next;
    }
    return row[b.length]!;
  };
  let best: { candidate: string; d: number } | undefined;
  for (const candidate of candidates) {
    const d = distance(word, candidate);
    if (d <= Math.max(1, Math.floor(word.length / 3)) && (!best || d < best.d)) best = { candidate, d };
  }
  return best?.candidate;
}
