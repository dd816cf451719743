import { Resvg } from "@resvg/resvg-js";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { panelGrid, renderSvg, renderSvgSync, savePlotPng, type Panel } from "./plot.ts";

// A falling loss with values like the ones that used to give ticks such as 0.0971.
const loss = Array.from({ length: 40 }, (_, i) => ({ x: i * 25, y: 0.0971 + 0.6 * Math.exp(-i / 9) }));
const panels: Panel[] = [
  { title: "train loss", xLabel: "global step", series: [{ name: "loss", points: loss }] },
  {
    title: "losses",
    xLabel: "epoch",
    series: [
      {
        name: "policy",
        points: [
          { x: 1, y: -0.02 },
          { x: 2, y: 0.013 },
          { x: 3, y: Number.NaN },
        ],
      },
      {
        name: "value",
        points: [
          { x: 1, y: 0.4 },
          { x: 2, y: 0.31 },
          { x: 3, y: 0.22 },
        ],
      },
    ],
  },
  { title: "accuracy", xLabel: "global step", series: [{ name: "accuracy", points: [] }] },
];
/** The text of every <text> element vega drew. */
const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);

describe("plots (vega-lite → vega SVG → resvg PNG)", () => {
  const dir = mkdtempSync(join(tmpdir(), "ranklab-plot-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("renders synchronously exactly what vega's own toSVG renders", async () => {
    const spec = panelGrid(panels);
    expect(renderSvgSync(spec)).toBe(await renderSvg(spec));
  });

  it("puts round numbers on the axes, whole numbers for steps and epochs, and a legend per panel", () => {
    const labels = texts(renderSvgSync(panelGrid(panels)));
    const numbers = labels.filter((t) => /^[−-]?[\d.,]+$/.test(t)).map((t) => Number(t.replace("−", "-").replace(/,/g, "")));
    expect(numbers.length).toBeGreaterThan(10);
    // Nice ticks: every label is a multiple of 1, 2 or 5 times a power of ten, with at most two significant digits.
    for (const n of numbers) expect(Number(n.toPrecision(2)), String(n)).toBe(n);
    expect(labels).not.toContain("0.0971");
    expect(labels).toEqual(expect.arrayContaining(["global step", "epoch", "policy", "value", "loss", "train loss", "losses", "accuracy: no data"]));
    // The epoch axis (1 to 3) has whole-number ticks only, where a plain scale would put 1.5 and 2.5.
    expect(labels).toEqual(expect.arrayContaining(["1", "2", "3"]));
    expect(labels).not.toEqual(expect.arrayContaining(["1.5"]));
    expect(labels).not.toEqual(expect.arrayContaining(["2.5"]));
  });

  it("writes a PNG of the grid", () => {
    const path = join(dir, "sub", "curves.png");
    savePlotPng(path, panels, 2);
    const png = readFileSync(path);
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    const size = new Resvg(renderSvgSync(panelGrid(panels, 2))).render();
    expect(png.readUInt32BE(16)).toBe(size.width); // IHDR width: two panels across
    expect(size.width).toBeGreaterThan(2 * 420);
    expect(size.height).toBeGreaterThan(2 * 220);
  });
});
