import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { selectBackend } from "../src/backend/select-backend.ts";
import { NGRAM_DEFAULTS, NgramRanker } from "../src/reward-model/ngram-baseline.ts";
import { countPairs, readRankFile } from "../src/reward-model/rank-data.ts";
import { trainRewardModel } from "../src/reward-model/train.ts";
import { RewardTrainConfigSchema } from "../src/reward-model/train-config.ts";
import { fmt } from "./timing.ts";

/** The real reviews live outside the repository (never copied in): ../shared/data/reviews by default. */
export const REVIEWS_DIR = resolve(process.env.RANKLAB_REVIEWS_DIR ?? join(import.meta.dirname, "../../../../shared/data/reviews"));

/** The settings the README quotes; BENCH_REWARD_CONFIG (JSON) overrides any of them. */
export const BENCH_REWARD_SETTINGS = {
  // 128 tokens keep 89% of these reviews whole (the longest 11% are cut).
  maxLength: 128,
  listsPerStep: 8,
  epochs: 2,
  learningRate: 1e-3,
  dropout: 0.1,
  evalEvery: 150,
  logEvery: 50,
  // Mean pooling and hashed character bigrams: what let a small encoder from scratch pass the n-gram baseline here.
  model: { hiddenSize: 128, layers: 2, heads: 4, intermediateSize: 512, maxVocab: 6000, pooling: "mean" as const, bigramBuckets: 32768 },
};

/**
 * The real-data acceptance: the reward model and the character n-gram linear
 * baseline, trained with the same rank loss on rank_train.tsv in the same run, both
 * measured by pairwise accuracy over every pair of each rank_dev.tsv list.
 */
export async function benchRewardOnReviews(): Promise<void> {
  const train = join(REVIEWS_DIR, "rank_train.tsv");
  const dev = join(REVIEWS_DIR, "rank_dev.tsv");
  if (!existsSync(train) || !existsSync(dev)) {
    console.log(`skipped: no ${train} and ${dev} (set RANKLAB_REVIEWS_DIR to the folder holding them)`);
    return;
  }
  const backend = await selectBackend();
  const trainLists = readRankFile(train);
  const devLists = readRankFile(dev);
  console.log(`data: ${trainLists.length} train lists (${countPairs(trainLists)} pairs), ${devLists.length} dev lists (${countPairs(devLists)} pairs) from ${REVIEWS_DIR}`);

  // 1. The baseline.
  let started = performance.now();
  const ngram = NgramRanker.train(trainLists, NGRAM_DEFAULTS);
  const ngramAccuracy = ngram.evaluate(devLists).accuracy;
  const ngramSeconds = (performance.now() - started) / 1000;
  console.log(`baseline: char 1+2-gram linear ranker (${ngram.featureCount} features, ${JSON.stringify(NGRAM_DEFAULTS)}): dev pairwise accuracy ${fmt(ngramAccuracy, 4)} in ${fmt(ngramSeconds)} s`);

  // 2. The reward model.
  const out = mkdtempSync(join(tmpdir(), "ranklab-bench-rm-"));
  const settings = { ...BENCH_REWARD_SETTINGS, ...JSON.parse(process.env.BENCH_REWARD_CONFIG ?? "{}") };
  const config = RewardTrainConfigSchema.parse({ ...settings, train: [train], dev, out, logsDir: join(out, "logs"), quiet: true });
  started = performance.now();
  const result = await trainRewardModel(config, () => {});
  const rmSeconds = (performance.now() - started) / 1000;
  console.log(`reward model (${backend.name}, ${JSON.stringify(settings)}): dev pairwise accuracy ${fmt(result.bestAccuracy, 4)} (best of ${result.history.filter((h) => h.accuracy !== undefined).length} evaluations) in ${fmt(rmSeconds, 0)} s, ${result.steps} steps`);
  console.log(`reward model / baseline accuracy: ${fmt(result.bestAccuracy / ngramAccuracy, 3)}× (${result.bestAccuracy > ngramAccuracy ? "beats" : "does not beat"} the baseline); time ratio ${fmt(rmSeconds / ngramSeconds, 0)}×`);
  rmSync(out, { recursive: true, force: true });
}
