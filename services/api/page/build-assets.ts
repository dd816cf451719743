/**
 * `tsx services/api/page/build-assets.ts`: wrangler.toml's `[build] command` (see assets.ts).
 * Quiet when the files are current: wrangler dev runs it twice per start.
 */
import { buildPageAssetsIfStale, PAGE_ASSETS_DIR } from "./assets.ts";

const { built } = await buildPageAssetsIfStale();
if (built) console.log(`page assets built in ${PAGE_ASSETS_DIR}`);
