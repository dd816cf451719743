/** `tsx scripts/build-page-assets.ts`: wrangler.toml's `[build] command` (see scripts/lib/page-assets.ts). */
import { buildPageAssets, PAGE_ASSETS_DIR } from "./lib/page-assets.ts";

const { chartsBytes } = await buildPageAssets();
console.log(`page assets: ${PAGE_ASSETS_DIR}/app/charts.js (${(chartsBytes / 1024).toFixed(0)} KiB)`);
