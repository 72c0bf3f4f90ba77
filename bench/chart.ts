/**
 * Draws the overhead sections of bench/results.json as an SVG: for each server (the dev server, a
 * trivial one), protocol and concurrency, ours against each peer (throughput ratio, higher is
 * better; client CPU ratio, lower is better), the median of per-round ratios as a bar and their
 * min–max as a whisker, with 1x and each goal marked. `npm run bench` draws it after measuring;
 * `npm run bench:chart` redraws it from the file.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

export interface Spread {
  median: number;
  min: number;
  max: number;
}
interface Figures {
  oursThroughputRatio: Spread;
  oursCpuRatio: Spread;
}
export interface OverheadSection {
  figures: Record<string, Figures>;
}

/** One row of a panel: which peer (a prefix of its name in the results), and the goal for it. */
interface Peer {
  label: string;
  prefix: string;
  goal?: (concurrency: number) => number;
}

const THROUGHPUT_PEERS: Peer[] = [
  { label: "bare openapi-fetch", prefix: "bare openapi-fetch", goal: () => 2 },
  { label: "core-rest-pipeline", prefix: "core-rest-pipeline", goal: (c) => (c === 1 ? 1.1 : 1.5) },
  { label: "ky", prefix: "ky" },
  { label: "undici Pool.request", prefix: "undici Pool.request" },
  { label: "ours before (fetch objects)", prefix: "ours before" },
];
const CPU_PEERS: Peer[] = [
  { label: "undici Pool.request", prefix: "undici Pool.request", goal: () => 1.3 },
  { label: "core-rest-pipeline", prefix: "core-rest-pipeline" },
  { label: "bare openapi-fetch", prefix: "bare openapi-fetch" },
];
/** Each server, protocol and concurrency the overhead is measured at, as named in the results. */
const SCENARIOS = ["", "trivial_"].flatMap((server) =>
  ["https", "http"].flatMap((protocol) =>
    [1, 64].map((concurrency) => ({
      key: `overhead_${server}${protocol}_c${concurrency}`,
      label: `${protocol.toUpperCase()}, concurrency ${concurrency}, ${server ? "trivial" : "dev"} server`,
      concurrency,
    })),
  ),
);

const ROW = 18;
const LABEL = 190;
const PLOT = 300;
const GAP = 40;
const MAX_RATIO = 3;

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const x = (ratio: number) => LABEL + (Math.min(ratio, MAX_RATIO) / MAX_RATIO) * PLOT;
const fixed = (n: number) => n.toFixed(1);

function panel(
  title: string,
  peers: Peer[],
  pick: (f: Figures) => Spread,
  sections: Record<string, OverheadSection | undefined>,
  top: number,
): { svg: string[]; height: number } {
  const svg = [`<text x="${LABEL}" y="${top + 14}" class="title">${escape(title)}</text>`];
  let y = top + 26;
  for (const { key, label, concurrency } of SCENARIOS) {
    const section = sections[key];
    if (!section) continue;
    svg.push(`<text x="4" y="${y + 12}" class="group">${escape(label)}</text>`);
    y += ROW;
    for (const peer of peers) {
      const name = Object.keys(section.figures).find((n) => n.startsWith(peer.prefix));
      if (!name) continue;
      const s = pick(section.figures[name]!);
      const mid = y + ROW / 2;
      svg.push(
        `<text x="${LABEL - 6}" y="${mid + 4}" class="label">${escape(peer.label)}</text>`,
        `<rect x="${LABEL}" y="${y + 3}" width="${fixed(x(s.median) - LABEL)}" height="${ROW - 6}" class="bar"/>`,
        `<line x1="${fixed(x(s.min))}" x2="${fixed(x(s.max))}" y1="${mid}" y2="${mid}" class="whisker"/>`,
        `<text x="${fixed(x(Math.max(s.max, s.median)) + 4)}" y="${mid + 4}" class="value">` +
          `${s.median.toFixed(2)}x (${s.min.toFixed(2)}–${s.max.toFixed(2)})</text>`,
      );
      const goal = peer.goal?.(concurrency);
      if (goal !== undefined) {
        svg.push(
          `<line x1="${fixed(x(goal))}" x2="${fixed(x(goal))}" y1="${y + 1}" y2="${y + ROW - 1}" class="goal">` +
            `<title>goal ${goal}x</title></line>`,
        );
      }
      y += ROW;
    }
    y += 6;
  }
  svg.push(`<line x1="${x(1)}" x2="${x(1)}" y1="${top + 20}" y2="${y}" class="one"/>`);
  for (const tick of [0, 1, 2, 3]) {
    svg.push(`<text x="${x(tick)}" y="${y + 14}" class="tick">${tick}x</text>`);
  }
  return { svg, height: y + 20 - top };
}

/** The chart for the overhead sections of a results object; sections that were not measured are left out. */
export function drawOverheadChart(results: Record<string, unknown>, measuredAt = ""): string {
  const sections = results as Record<string, OverheadSection | undefined>;
  const throughput = panel(
    "Throughput, ours / peer (higher is better; | marks the goal)",
    THROUGHPUT_PEERS,
    (f) => f.oursThroughputRatio,
    sections,
    0,
  );
  const cpu = panel(
    "Client CPU per call, ours / peer (lower is better; | marks the goal)",
    CPU_PEERS,
    (f) => f.oursCpuRatio,
    sections,
    throughput.height + GAP,
  );
  const width = LABEL + PLOT + 150;
  const height = throughput.height + GAP + cpu.height + 16;
  const when = measuredAt ? `; measured ${measuredAt}` : "";
  const note = `median of per-round ratios, whisker min–max over rounds${when}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    "<style>",
    ".title{font-weight:bold}.group{font-weight:bold;fill:#333}.label{text-anchor:end}",
    ".bar{fill:#4c78a8}.whisker{stroke:#222;stroke-width:1.5}.value{fill:#222}",
    ".one{stroke:#888;stroke-dasharray:3 3}.goal{stroke:#d62728;stroke-width:2.5}",
    ".tick{text-anchor:middle;fill:#555}.note{fill:#555}",
    "</style>",
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    ...throughput.svg,
    ...cpu.svg,
    `<text x="4" y="${height - 4}" class="note">${escape(note)}</text>`,
    "</svg>",
    "",
  ].join("\n");
}

/** Writes docs/performance-chart.svg from a results object. */
export function writeOverheadChart(results: Record<string, unknown>, path = "docs/performance-chart.svg"): void {
  const measured = (results.overhead_https_c1 as { measuredAt?: string } | undefined)?.measuredAt;
  writeFileSync(path, drawOverheadChart(results, measured?.slice(0, 10)));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  writeOverheadChart(JSON.parse(readFileSync("bench/results.json", "utf8")) as Record<string, unknown>);
  console.log("Wrote docs/performance-chart.svg");
}
