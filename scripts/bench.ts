/**
 * `npm run bench [name…]`: every benchmark, or those named. Each prints its figures
 * next to a baseline measured in the same run, as a ratio. BENCH_SECONDS bounds each
 * load phase (default 10).
 */
import { benchLabelIngestion } from "./bench/label-ingestion.ts";

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const benches: Record<string, () => Promise<void>> = {
  "label-ingestion": () => benchLabelIngestion(seconds),
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in benches));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(", ")}; known: ${Object.keys(benches).join(", ")}`);
  process.exit(2);
}
for (const [name, run] of Object.entries(benches)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  console.log(`\n== ${name} ==`);
  await run();
}
