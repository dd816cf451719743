import { Resvg } from "@resvg/resvg-js";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

export interface Series {
  name: string;
  points: { x: number; y: number }[];
}

export interface Panel {
  title: string;
  xLabel: string;
  series: Series[];
}

/** matplotlib's first colours, which trl's and the seed's curves use. */
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"];
const WIDTH = 420;
const HEIGHT = 220;
/** The font the Dockerfile installs; resvg falls back to any system sans-serif. */
const FONT = "DejaVu Sans";

/** vega-scenegraph's SVG string renderer (what `toSVG` uses); vega exports it, its typings do not. */
interface SvgStringRenderer {
  initialize(el: null, width: number, height: number, origin: [number, number]): SvgStringRenderer;
  background(color: unknown): SvgStringRenderer;
  render(scene: unknown): SvgStringRenderer;
  svg(): string;
}
const { SVGStringRenderer } = vega as unknown as { SVGStringRenderer: new (loader: unknown) => SvgStringRenderer };

/**
 * One panel as a vega-lite line chart: a line per series, coloured with a legend, the
 * axes on nice round ticks (vega's), whole-number ticks when x counts steps or epochs.
 * Non-finite values are left out; a series of one point is drawn as a point.
 */
export function lineChart(panel: Panel) {
  const values = panel.series.flatMap((s) =>
    s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).map((p) => ({ series: s.name, x: p.x, y: p.y })),
  );
  const integralX = values.every((v) => Number.isInteger(v.x));
  const fewPoints = panel.series.some((s) => s.points.length <= 1);
  return {
    title: values.length ? panel.title : `${panel.title}: no data`,
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: { type: "line" as const, strokeWidth: 2, point: fewPoints },
    encoding: {
      x: {
        field: "x",
        type: "quantitative" as const,
        title: panel.xLabel,
        scale: { zero: false, nice: true },
        axis: integralX ? { format: "d", tickMinStep: 1 } : {},
      },
      y: { field: "y", type: "quantitative" as const, title: null, scale: { zero: false, nice: true } },
      color: {
        field: "series",
        type: "nominal" as const,
        title: null,
        scale: { domain: panel.series.map((s) => s.name), range: COLORS },
        legend: { orient: "top" as const, direction: "horizontal" as const },
      },
    },
  };
}

/** Panels in a grid, `columns` wide, each with its own scales and legend. */
export function panelGrid(panels: Panel[], columns = 3): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    background: "white",
    padding: 12,
    config: { font: FONT, title: { fontSize: 14 }, axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: "normal" }, legend: { labelFontSize: 11 } },
    columns: Math.min(columns, panels.length),
    concat: panels.map(lineChart),
    resolve: { scale: { x: "independent", y: "independent", color: "independent" } },
  };
}

/** A vega-lite spec as SVG, rendered by vega in Node (no browser, no canvas); `view.toSVG()` is the same, awaited. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * The same SVG without awaiting: the data are inline, so vega's dataflow runs at once
 * and its SVG string renderer needs no image loads. The training loops plot between
 * steps, synchronously. The view's size is private to vega (as `toSVG` reads it); the
 * tests check this against `renderSvg`.
 */
export function renderSvgSync(spec: TopLevelSpec): string {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" }).run();
  try {
    const size = view as unknown as { _viewWidth: number; _viewHeight: number };
    const padding = view.padding() as { left: number; right: number; top: number; bottom: number };
    const origin = view.origin();
    const width = size._viewWidth + padding.left + padding.right;
    const height = size._viewHeight + padding.top + padding.bottom;
    const scene = (view.scenegraph() as unknown as { root: unknown }).root;
    return new SVGStringRenderer(view.loader())
      .initialize(null, width, height, [padding.left + origin[0], padding.top + origin[1]])
      .background(view.background())
      .render(scene)
      .svg();
  } finally {
    view.finalize();
  }
}

/** Panels in a grid as a PNG: vega-lite spec → vega SVG → resvg. */
export function savePlotPng(path: string, panels: Panel[], columns = 3): void {
  const svg = renderSvgSync(panelGrid(panels, columns));
  mkdirSync(dirname(path), { recursive: true });
  const png = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: FONT } }).render().asPng();
  writeFileSync(path, png);
}
