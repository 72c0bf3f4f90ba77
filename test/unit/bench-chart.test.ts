import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { drawOverheadChart, type Spread } from "../../bench/chart.js";

const root = join(import.meta.dirname, "../..");
const spread = (median: number, min: number, max: number): Spread => ({ median, min, max });
const figures = (throughput: Spread, cpu: Spread) => ({ oursThroughputRatio: throughput, oursCpuRatio: cpu });

describe("the benchmark's chart (docs/performance-chart.svg)", () => {
  it("is what bench/chart.ts draws from the committed bench/results.json", () => {
    const results = JSON.parse(readFileSync(join(root, "bench/results.json"), "utf8")) as Record<string, unknown>;
    const measured = (results.overhead_https_c1 as { measuredAt?: string } | undefined)?.measuredAt;
    const committed = readFileSync(join(root, "docs/performance-chart.svg"), "utf8");
    expect(committed).toBe(drawOverheadChart(results, measured?.slice(0, 10)));
    expect(readFileSync(join(root, "docs/performance.md"), "utf8")).toContain("(performance-chart.svg)");
  });

  it("draws each peer's median as a bar, its spread as a whisker and each goal as a mark", () => {
    const svg = drawOverheadChart({
      overhead_http_c64: {
        figures: {
          "bare openapi-fetch (global fetch)": figures(spread(1.5, 1.2, 1.8), spread(0.4, 0.3, 0.5)),
          "core-rest-pipeline (header policy)": figures(spread(1, 0.9, 1.2), spread(0.8, 0.7, 0.9)),
          "undici Pool.request": figures(spread(0.9, 0.8, 1), spread(1.5, 1.25, 2)),
        },
      },
    });
    // Only the one scenario measured, with its three peers in the throughput panel and in the CPU one.
    expect(svg.match(/class="group"/g)).toHaveLength(2);
    expect(svg).toContain("HTTP, concurrency 64");
    expect(svg).not.toContain("HTTPS");
    expect(svg.match(/class="bar"/g)).toHaveLength(6);
    // 1.5x of a 3x axis 300 wide starting at 190: a bar 150 wide, the whisker from 1.2x to 1.8x.
    expect(svg).toContain('width="150.0"');
    expect(svg).toContain('x1="310.0" x2="370.0"');
    expect(svg).toContain("1.50x (1.20–1.80)");
    // Goals: 2x bare openapi-fetch, 1.5x core-rest-pipeline at concurrency 64, CPU within 1.3x of Pool.request.
    expect([...svg.matchAll(/<title>goal ([\d.]+)x<\/title>/g)].map((m) => m[1])).toEqual(["2", "1.5", "1.3"]);
    // Labels are escaped; the document is one svg element.
    expect(svg.startsWith("<svg ")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(svg).not.toMatch(/<text[^>]*>[^<]*[<>&][^<]*<\/text>/);
  });
});
