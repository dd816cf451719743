/**
 * Builds the simulated raters' taste model (services/local-raters/src/taste-model.ts):
 * a reward model from scratch trained with the pairwise loss on the real human rank lists
 * (rank_train.tsv), its best step chosen on rank_dev.tsv, into <models home>/taste, a
 * folder the trainer never reads. Made once and reused while its recipe is the same.
 *
 * From scratch, with its own vocabulary, not from prepare's classifier: the loop's reward
 * model starts from that classifier, and a taste that shared its encoder would flatter the
 * loop. Settings: the 2 × 128 model of `npm run bench:reward` (0.859 on rank_dev's 1,800
 * pairs, ~3 min on 2 cores on onnxruntime; docs/benchmarks.md); the completion alone as
 * its input, since raters read a continuation without its prompt.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { RewardTrainConfigSchema } from "@ranklab/gpu-trainer/reward-model/train-config";
import { trainRewardModel } from "@ranklab/gpu-trainer/reward-model/train";
import { REPO_ROOT } from "./local-env.ts";

/** Where the real rank lists are: ../shared/data/reviews beside the repository, or RANKLAB_REVIEWS_DIR. */
export const reviewsDir = () => resolve(process.env.RANKLAB_REVIEWS_DIR ?? join(REPO_ROOT, "..", "shared", "data", "reviews"));
export const tasteDirOf = (modelsHome: string) => join(modelsHome, "taste");

export interface TasteBuild {
  dir: string;
  /** Pairwise accuracy on rank_dev.tsv of the checkpoint kept. */
  devAccuracy: number;
  cached: boolean;
}

/** The taste model under `modelsHome`, trained first when missing; undefined when the rank lists are not there. */
export async function buildTasteModel(modelsHome: string, log: (line: string) => void, options: { epochs?: number } = {}): Promise<TasteBuild | undefined> {
  const train = join(reviewsDir(), "rank_train.tsv");
  const dev = join(reviewsDir(), "rank_dev.tsv");
  if (!existsSync(train) || !existsSync(dev)) return undefined;
  const root = tasteDirOf(modelsHome);
  const dir = join(root, "best");
  const config = RewardTrainConfigSchema.parse({
    train: [train],
    dev,
    out: root,
    logsDir: join(root, "logs"),
    runName: "taste",
    rewardInput: "completion",
    engine: "onnx",
    dropout: 0,
    epochs: options.epochs ?? 4,
    evalEvery: 150,
    maxLength: 128,
    model: { hiddenSize: 128, layers: 2, heads: 4, intermediateSize: 512, maxVocab: 6000, pooling: "mean" },
    quiet: true,
  });
  const recipe = JSON.stringify(config);
  const stamp = join(root, "taste.json");
  if (existsSync(stamp) && existsSync(join(dir, "config.json"))) {
    const made = JSON.parse(readFileSync(stamp, "utf8")) as { recipe: string; dev_accuracy: number };
    if (made.recipe === recipe) return { dir, devAccuracy: made.dev_accuracy, cached: true };
  }
  rmSync(root, { recursive: true, force: true });
  log(`taste model: training on ${train} (pairwise loss, ${config.epochs} epochs, 2 × 128 from scratch) into ${root}: minutes`);
  const result = await trainRewardModel(config, () => {});
  writeFileSync(stamp, `${JSON.stringify({ recipe, dev_accuracy: result.bestAccuracy, seconds: result.seconds }, null, 2)}\n`);
  log(`taste model: rank_dev pairwise accuracy ${result.bestAccuracy.toFixed(4)} (${result.seconds.toFixed(0)} s)`);
  return { dir, devAccuracy: result.bestAccuracy, cached: false };
}
