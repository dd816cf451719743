import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { REPO_ROOT } from "./local-env.ts";

/** wrangler.toml's `[assets] directory`: files the Worker's static-asset server answers before the Worker runs. */
export const PAGE_ASSETS_DIR = join(REPO_ROOT, ".wrangler", "page-assets");

/**
 * Writes the labeling page's static files: /app/charts.js (vega, vega-lite, vega-embed
 * and vega-interpreter from node_modules, one minified IIFE, their licence comments kept)
 * and a `_headers` file giving it the page's nosniff and an hour's caching. wrangler runs
 * this as its `[build] command` before `wrangler dev` and `wrangler deploy`; the API's
 * vitest config runs it too. Kept out of the Worker's own bundle (~0.9 MB more to parse
 * at every cold start for a file only admins' browsers load).
 */
export async function buildPageAssets(outDir = PAGE_ASSETS_DIR): Promise<{ chartsBytes: number }> {
  mkdirSync(join(outDir, "app"), { recursive: true });
  const result = await build({
    entryPoints: [join(REPO_ROOT, "scripts/page-assets/charts.ts")],
    outfile: join(outDir, "app", "charts.js"),
    bundle: true,
    minify: true,
    format: "iife",
    platform: "browser",
    target: "es2020",
    legalComments: "eof",
    metafile: true,
    logLevel: "warning",
  });
  writeFileSync(join(outDir, "_headers"), "/app/*\n  X-Content-Type-Options: nosniff\n  Cache-Control: public, max-age=3600\n");
  const chartsBytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  return { chartsBytes };
}
