import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";

/** The repository's root: wrangler.toml's paths (the assets directory) are relative to it. */
const REPO_ROOT = join(import.meta.dirname, "..", "..", "..");

/** A ranked list: three bars, longest first, in the page's blue. */
const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#2563eb"/><rect x="3" y="3.5" width="10" height="2" rx="1" fill="#fff"/><rect x="3" y="7" width="7.5" height="2" rx="1" fill="#fff"/><rect x="3" y="10.5" width="5" height="2" rx="1" fill="#fff"/></svg>\n`;

/** wrangler.toml's `[assets] directory`: files the Worker's static-asset server answers before the Worker runs. */
export const PAGE_ASSETS_DIR = join(REPO_ROOT, ".wrangler", "page-assets");

const BROWSER_DIR = join(import.meta.dirname, "browser");

/**
 * What the built files depend on: the browser sources, this file (the favicon, the headers)
 * and the installed versions of the chart libraries (their package.json changes with them).
 */
function inputsStamp(): string {
  const sources = readdirSync(BROWSER_DIR).map((f) => join(BROWSER_DIR, f));
  const files = [
    ...sources,
    import.meta.filename,
    ...["vega", "vega-lite", "vega-embed", "vega-interpreter"].map((p) => join(REPO_ROOT, "node_modules", p, "package.json")),
  ];
  return files.map((f) => `${f} ${existsSync(f) ? statSync(f).mtimeMs : "missing"}`).join("\n");
}

/**
 * Builds the page's files unless the ones in `outDir` were built from the same inputs.
 * wrangler dev runs its `[build] command` twice at every start (once for the Worker, once
 * when its file watcher is ready): the second finds the files current and builds nothing.
 */
export async function buildPageAssetsIfStale(outDir = PAGE_ASSETS_DIR): Promise<{ built: boolean }> {
  const stampFile = join(outDir, ".inputs");
  const stamp = inputsStamp();
  if (
    existsSync(stampFile) &&
    existsSync(join(outDir, "app", "charts.js")) &&
    existsSync(join(outDir, "app", "app.js")) &&
    readFileSync(stampFile, "utf8") === stamp
  )
    return { built: false };
  await buildPageAssets(outDir);
  writeFileSync(stampFile, stamp);
  return { built: true };
}

/**
 * Writes the labeling page's static files: /app/app.js (browser/app.ts, the page's own
 * code), /app/charts.js (browser/charts.ts: vega, vega-lite, vega-embed and vega-interpreter
 * from node_modules, their licence comments kept), each one minified IIFE, the favicon, and
 * a `_headers` file giving them the page's nosniff, an hour's caching for the chart library
 * and revalidation for app.js (it changes with every deploy of the page's HTML). wrangler
 * runs this as its `[build] command` before `wrangler dev` and `wrangler deploy`; the API's
 * vitest config runs it too. Kept out of the Worker's own bundle (charts.js is ~0.9 MB more
 * to parse at every cold start, for a file only admins' browsers load).
 */
export async function buildPageAssets(outDir = PAGE_ASSETS_DIR): Promise<{ chartsBytes: number; appBytes: number }> {
  mkdirSync(join(outDir, "app"), { recursive: true });
  const bundle = async (entry: string, out: string) => {
    const result = await build({
      entryPoints: [join(BROWSER_DIR, entry)],
      outfile: join(outDir, "app", out),
      bundle: true,
      minify: true,
      format: "iife",
      platform: "browser",
      target: "es2020",
      legalComments: "eof",
      metafile: true,
      logLevel: "warning",
    });
    return Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  };
  const [chartsBytes, appBytes] = await Promise.all([bundle("charts.ts", "charts.js"), bundle("app.ts", "app.js")]);
  // The tab's icon (a browser asks for one; without it every page load logs a 404).
  writeFileSync(join(outDir, "app", "favicon.svg"), FAVICON);
  writeFileSync(
    join(outDir, "_headers"),
    "/app/*\n  X-Content-Type-Options: nosniff\n  Cache-Control: public, max-age=3600\n/app/app.js\n  ! Cache-Control\n  Cache-Control: no-cache\n",
  );
  return { chartsBytes, appBytes };
}
