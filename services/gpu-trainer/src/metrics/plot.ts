import { Resvg } from "@resvg/resvg-js";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export interface Series {
  name: string;
  points: { x: number; y: number }[];
}

export interface Panel {
  title: string;
  xLabel: string;
  series: Series[];
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"];
const W = 520;
const H = 300;
const M = { left: 64, right: 16, top: 36, bottom: 44 };

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
const fmt = (v: number) => (Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : Number(v.toPrecision(3)).toString());

function panelSvg(panel: Panel, ox: number, oy: number): string {
  return `<g transform="translate(0, ${oy})">${panelBody(panel, ox)}</g>`;
}

function panelBody(panel: Panel, ox: number): string {
  const all = panel.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.y));
  if (all.length === 0) return `<text x="${ox + W / 2}" y="${H / 2}" text-anchor="middle">${esc(panel.title)}: no data</text>`;
  let [x0, x1] = [Math.min(...all.map((p) => p.x)), Math.max(...all.map((p) => p.x))];
  let [y0, y1] = [Math.min(...all.map((p) => p.y)), Math.max(...all.map((p) => p.y))];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const pad = (y1 - y0) * 0.05;
  [y0, y1] = [y0 - pad, y1 + pad];
  // Steps and epochs are whole numbers: label them so.
  const integralX = all.every((p) => Number.isInteger(p.x));
  const sx = (x: number) => ox + M.left + ((x - x0) / (x1 - x0)) * (W - M.left - M.right);
  const sy = (y: number) => M.top + (1 - (y - y0) / (y1 - y0)) * (H - M.top - M.bottom);
  const parts: string[] = [`<text x="${ox + W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(panel.title)}</text>`];
  for (let k = 0; k <= 4; k++) {
    const yv = y0 + ((y1 - y0) * k) / 4;
    const xv = x0 + ((x1 - x0) * k) / 4;
    parts.push(
      `<line x1="${ox + M.left}" x2="${ox + W - M.right}" y1="${sy(yv)}" y2="${sy(yv)}" stroke="#e5e5e5"/>`,
      `<text x="${ox + M.left - 6}" y="${sy(yv) + 4}" text-anchor="end" font-size="11">${fmt(yv)}</text>`,
      `<text x="${sx(xv)}" y="${H - M.bottom + 16}" text-anchor="middle" font-size="11">${integralX ? Math.round(xv) : fmt(xv)}</text>`,
    );
  }
  parts.push(`<text x="${ox + W / 2}" y="${H - 8}" text-anchor="middle" font-size="12">${esc(panel.xLabel)}</text>`);
  panel.series.forEach((s, i) => {
    const pts = s.points.filter((p) => Number.isFinite(p.y));
    const color = COLORS[i % COLORS.length];
    if (pts.length > 1) parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => `${sx(p.x)},${sy(p.y)}`).join(" ")}"/>`);
    else if (pts[0]) parts.push(`<circle cx="${sx(pts[0].x)}" cy="${sy(pts[0].y)}" r="3" fill="${color}"/>`);
    parts.push(`<text x="${ox + W - M.right - 4}" y="${M.top + 14 + i * 14}" text-anchor="end" font-size="11" fill="${color}">${esc(s.name)}</text>`);
  });
  return parts.join("");
}

/** Panels in a grid (`columns` wide) as an SVG, rendered to PNG with resvg (no browser, no native canvas). */
export function savePlotPng(path: string, panels: Panel[], columns = 3): void {
  const cols = Math.min(columns, panels.length);
  const rows = Math.ceil(panels.length / cols);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W * cols}" height="${H * rows}" font-family="DejaVu Sans, sans-serif"><rect width="100%" height="100%" fill="white"/>${panels
    .map((p, i) => panelSvg(p, (i % cols) * W, Math.floor(i / cols) * H))
    .join("")}</svg>`;
  mkdirSync(dirname(path), { recursive: true });
  const png = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" } }).render().asPng();
  writeFileSync(path, png);
}
