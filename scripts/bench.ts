/**
 * `npm run bench [name…]`: every benchmark, or those named. Each prints its figures
 * next to a baseline measured in the same run, as a ratio. BENCH_SECONDS bounds each
 * load phase (default 10).
 */
import { benchRewardOnReviews } from "@ranklab/gpu-trainer/bench/reward-on-reviews";
import { benchPpoStep } from "@ranklab/gpu-trainer/bench/ppo-step";
import { benchRewardEngine } from "@ranklab/gpu-trainer/bench/reward-engine";
import { benchScoringMemory } from "@ranklab/gpu-trainer/bench/scoring-memory";
import { benchTrainerKernels } from "@ranklab/gpu-trainer/bench/trainer-kernels";
import { benchTrainingEngine } from "@ranklab/gpu-trainer/bench/training-engine";
import { benchLabelIngestion } from "./bench/label-ingestion.ts";
import { benchLabeling } from "./bench/labeling.ts";
import { benchLoop } from "./bench/loop.ts";
import { benchScoringEndpoint } from "./bench/scoring-endpoint.ts";

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const benches: Record<string, () => Promise<void>> = {
  "label-ingestion": () => benchLabelIngestion(seconds),
  "scoring-endpoint": () => benchScoringEndpoint(seconds),
  "trainer-kernels": () => benchTrainerKernels(),
  "ppo-step": () => benchPpoStep(),
};
// Minutes long: run by name (`npm run bench:reward`), not by default.
const onRequest: Record<string, () => Promise<void>> = {
  "reward-on-reviews": () => benchRewardOnReviews(),
  // Three reward-model trainings (tfjs with and without dropout, onnxruntime): about a minute.
  "reward-engine": () => benchRewardEngine(),
  loop: () => benchLoop(),
  // Four labeling conditions × 3 seeds, a reward model retrained every 150 labels: ~10 min on 2 cores.
  labeling: () => benchLabeling(),
  // Runs the full-size GPT-2 (102M parameters, ~2 GB): on request only.
  "training-engine": () => benchTrainingEngine(),
  // An ERNIE-base-sized batch scored on tfjs twice (about 2 GB of memory, a minute or two).
  "scoring-memory": () => benchScoringMemory(),
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in benches) && !(name in onRequest));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(", ")}; known: ${[...Object.keys(benches), ...Object.keys(onRequest)].join(", ")}`);
  process.exit(2);
}
for (const [name, run] of Object.entries({ ...benches, ...onRequest })) {
  if (wanted.length > 0 ? !wanted.includes(name) : !(name in benches)) continue;
  console.log(`\n== ${name} ==`);
  await run();
}
