import { cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { selectBackend } from "../src/backend/select-backend.ts";
import { NGRAM_DEFAULTS, NgramRanker } from "../src/reward-model/ngram-baseline.ts";
import { pretrainSentimentFromFiles, SentimentPretrainSchema } from "../src/reward-model/pretrain-sentiment.ts";
import { countPairs, readRankFile } from "../src/reward-model/rank-data.ts";
import { trainRewardModel, type RewardTrainResult } from "../src/reward-model/train.ts";
import { RewardTrainConfigSchema } from "../src/reward-model/train-config.ts";
import { fmt } from "./timing.ts";

/** The real reviews live outside the repository (never copied in): ../shared/data/reviews by default. */
export const REVIEWS_DIR = resolve(process.env.RANKLAB_REVIEWS_DIR ?? join(import.meta.dirname, "../../../../shared/data/reviews"));
/** The labelled corpora (sentiment pretraining): ../shared/data/corpora by default. */
export const CORPORA_DIR = resolve(process.env.RANKLAB_CORPORA_DIR ?? join(import.meta.dirname, "../../../../shared/data/corpora"));
export const CORPUS_FILES = ["online_shopping_10_cats.csv", "waimai_10k.csv"];

const MODEL = { hiddenSize: 128, layers: 2, heads: 4, intermediateSize: 512, maxVocab: 6000, pooling: "mean" as const, bigramBuckets: 32768 };

/**
 * The from-scratch reward model's settings; BENCH_REWARD_CONFIG (JSON) overrides any of
 * them. On onnxruntime with the recipe's dropout 0.1 (`reward train`'s default; the engine
 * draws the masks from the seed): 0.8611 and 0.8578 on rank_dev in two runs against 0.8561 with
 * dropout 0 in the same session, within the spread (docs/benchmarks.md); it is what `reward train`
 * does by default, ~4× tfjs wasm's speed; the README's tfjs run is
 * `BENCH_REWARD_CONFIG='{"engine":"tfjs"}'`, 12 minutes.
 */
export const BENCH_REWARD_SETTINGS = {
  // 128 tokens keep 89% of these reviews whole (the longest 11% are cut).
  maxLength: 128,
  listsPerStep: 8,
  epochs: 2,
  learningRate: 1e-3,
  dropout: 0.1,
  engine: "onnx" as const,
  evalEvery: 150,
  logEvery: 50,
  // Mean pooling and hashed character bigrams: what let a small encoder from scratch pass the n-gram baseline here.
  model: MODEL,
};

/**
 * Fine-tuning the sentiment-pretrained encoder: the same steps at a lower learning rate (it
 * starts from a ranker; its shape is the encoder's) and without dropout, the setting its
 * figure (0.8844, and 0.8944 on 7 Dec 2026) was measured with, as the loop fine-tunes its base. BENCH_REWARD_FINETUNE overrides.
 */
const { model: _shapeFromTheEncoder, ...scratchSteps } = BENCH_REWARD_SETTINGS;
export const BENCH_FINETUNE_SETTINGS = { ...scratchSteps, dropout: 0, learningRate: 3e-4 };

/** Sentiment pretraining on the corpora; BENCH_REWARD_PRETRAIN (JSON) overrides. */
export const BENCH_PRETRAIN_SETTINGS = { epochs: 1, batchSize: 32, learningRate: 1e-3, maxLength: 128, heldOut: 1000, model: MODEL };

const json = (name: string) => JSON.parse(process.env[name] ?? "{}") as Record<string, unknown>;
const lastAccuracy = (r: RewardTrainResult) => r.history.filter((h) => h.accuracy !== undefined).at(-1)?.accuracy ?? Number.NaN;
const evaluations = (r: RewardTrainResult) => r.history.filter((h) => h.accuracy !== undefined).length;

/**
 * The issue's real-data acceptance, all in one run on rank_train.tsv → rank_dev.tsv
 * pairwise accuracy (every pair of each list):
 * 1. the character n-gram linear baseline;
 * 2. the reward model from scratch (BENCH_REWARD_SCRATCH=0 skips it);
 * 3. the reward model fine-tuned from an encoder pretrained on the corpora's sentiment,
 *    with rank_dev's texts left out of the pretraining corpus (the honest figure);
 * 4. with BENCH_REWARD_PRETRAINED=honest,optimistic (or =optimistic alone), the same
 *    pretrained on the whole corpus, rank_dev's texts and labels included: an optimistic
 *    figure, said so. BENCH_REWARD_PRETRAINED=none skips 3 and 4.
 * BENCH_REWARD_KEEP=DIR keeps the pretrained reward model of (3) in DIR for `reward score`.
 */
export async function benchRewardOnReviews(): Promise<void> {
  const train = join(REVIEWS_DIR, "rank_train.tsv");
  const dev = join(REVIEWS_DIR, "rank_dev.tsv");
  if (!existsSync(train) || !existsSync(dev)) {
    console.log(`skipped: no ${train} and ${dev} (set RANKLAB_REVIEWS_DIR to the folder holding them)`);
    return;
  }
  const corpus = CORPUS_FILES.map((f) => join(CORPORA_DIR, f)).filter((f) => existsSync(f));
  console.log(
    corpus.length > 0
      ? `corpus for sentiment pretraining: ${corpus.join(", ")}`
      : `no corpus in ${CORPORA_DIR} (set RANKLAB_CORPORA_DIR): the pretrained reward model is skipped`,
  );
  const backend = await selectBackend();
  const trainLists = readRankFile(train);
  const devLists = readRankFile(dev);
  console.log(
    `data: ${trainLists.length} train lists (${countPairs(trainLists)} pairs), ${devLists.length} dev lists (${countPairs(devLists)} pairs) from ${REVIEWS_DIR}`,
  );
  const work = mkdtempSync(join(tmpdir(), "ranklab-bench-rm-"));
  const started0 = performance.now();

  // 1. The baseline.
  const started = performance.now();
  const ngram = NgramRanker.train(trainLists, NGRAM_DEFAULTS);
  const ngramAccuracy = ngram.evaluate(devLists).accuracy;
  const ngramSeconds = (performance.now() - started) / 1000;
  console.log(
    `baseline: char 1+2-gram linear ranker (${ngram.featureCount} features, ${JSON.stringify(NGRAM_DEFAULTS)}): dev pairwise accuracy ${fmt(ngramAccuracy, 4)} in ${fmt(ngramSeconds)} s`,
  );

  const rewardModel = async (name: string, settings: Record<string, unknown>) => {
    const out = join(work, name);
    const config = RewardTrainConfigSchema.parse({ ...settings, train: [train], dev, out, logsDir: join(out, "logs"), quiet: true });
    const t = performance.now();
    const result = await trainRewardModel(config, () => {});
    return { result, seconds: (performance.now() - t) / 1000 };
  };
  const line = (label: string, settings: Record<string, unknown>, r: { result: RewardTrainResult; seconds: number }, extraMinutes = 0) => {
    const best = r.result.bestAccuracy;
    console.log(
      `${label} (${JSON.stringify(settings)}): dev pairwise accuracy ${fmt(best, 4)} (best of ${evaluations(r.result)} evaluations; last ${fmt(lastAccuracy(r.result), 4)}) ` +
        `in ${fmt(r.seconds, 0)} s, ${r.result.steps} steps; ${fmt(best - ngramAccuracy, 4)} vs the baseline (${best >= ngramAccuracy + 0.02 ? "≥ +0.02: beats it clearly" : best > ngramAccuracy ? "beats it, by less than 0.02" : "does not beat it"})` +
        (extraMinutes > 0 ? `; cost with pretraining ${fmt(extraMinutes + r.seconds / 60)} min` : ""),
    );
  };

  // 2. From scratch.
  if (process.env.BENCH_REWARD_SCRATCH !== "0") {
    const settings: Record<string, unknown> = { ...BENCH_REWARD_SETTINGS, ...json("BENCH_REWARD_CONFIG") };
    const r = await rewardModel("scratch", settings);
    line(`reward model from scratch (${settings.engine === "tfjs" ? `tfjs ${backend.name}` : "onnxruntime"})`, settings, r);
  }

  // 3 and 4. Sentiment-pretrained encoders, fine-tuned with the rank loss.
  if (corpus.length > 0) {
    const pretrainSettings = SentimentPretrainSchema.parse({ ...BENCH_PRETRAIN_SETTINGS, ...json("BENCH_REWARD_PRETRAIN"), quiet: true });
    const finetune = { ...BENCH_FINETUNE_SETTINGS, ...json("BENCH_REWARD_FINETUNE") };
    const wanted = (process.env.BENCH_REWARD_PRETRAINED ?? "honest").split(",");
    const variants = [
      { name: "honest", exclude: [dev], label: "reward model, sentiment-pretrained on the corpus without rank_dev's texts" },
      { name: "optimistic", exclude: [], label: "reward model, sentiment-pretrained on the whole corpus (OPTIMISTIC: it saw rank_dev's texts with labels)" },
    ].filter((v) => wanted.includes(v.name));
    for (const v of variants) {
      const encoder = join(work, `${v.name}-encoder`);
      const p = await pretrainSentimentFromFiles(pretrainSettings, { corpus, exclude: v.exclude, vocabFrom: [train] }, encoder, () => {});
      console.log(
        `sentiment pretraining (${v.name}; ${JSON.stringify({ ...BENCH_PRETRAIN_SETTINGS, ...json("BENCH_REWARD_PRETRAIN") })}): ${p.trainTexts} labelled reviews, ${p.excluded} corpus rows left out as rank_dev texts, ` +
          `held-out sentiment accuracy ${fmt(p.accuracy, 4)} on ${p.heldOutTexts}, ${fmt(p.seconds / 60)} min`,
      );
      const r = await rewardModel(v.name, { ...finetune, baseModel: encoder });
      line(v.label, { ...finetune, baseModel: `<${v.name} encoder>` }, r, p.seconds / 60);
      if (v.name === "honest" && process.env.BENCH_REWARD_KEEP) {
        const keep = resolve(process.env.BENCH_REWARD_KEEP);
        rmSync(keep, { recursive: true, force: true });
        cpSync(r.result.bestDir, keep, { recursive: true });
        console.log(`kept the sentiment-pretrained reward model in ${keep} (score texts with: npm run trainer -- reward score --model ${keep} TEXT...)`);
      }
    }
    console.log(
      "caveat: the corpus is the source of rank_dev's texts. " +
        (variants.some((v) => v.name === "honest")
          ? "The honest pretraining leaves those exact texts out; near-duplicates (a changed character or spacing) may remain. "
          : "") +
        "Any figure from a model pretrained on the whole corpus has seen rank_dev's texts with their sentiment labels and is optimistic. " +
        "Every 'best of N evaluations' picks its checkpoint on rank_dev itself (slightly optimistic too); 'last' is the final model.",
    );
  }
  console.log(`total: ${fmt((performance.now() - started0) / 60_000)} min`);
  rmSync(work, { recursive: true, force: true });
}
