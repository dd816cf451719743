/**
 * The labeling page's chart library, bundled by assets.ts into one
 * browser file (/app/charts.js, served from the Worker's static assets, so nothing is
 * fetched from a CDN). vega compiles expressions with `Function`, which the page's CSP
 * forbids; the page passes `ast: true` and this interpreter to vega-embed instead.
 */
import embed from "vega-embed";
import { expressionInterpreter } from "vega-interpreter";

(globalThis as { ranklabCharts?: unknown }).ranklabCharts = { embed, expressionInterpreter };
