/**
 * The simulated raters' taste on real reviews: a reward model trained on the real human
 * rank lists (../shared/data/reviews/rank_train.tsv, scripts/lib/build-taste.ts), read
 * from a folder the trainer never reads. A text's worth is that model's score
 * standardised by its own scale over the rank lists' reviews (metrics.json:
 * train_reward_mean, train_reward_std), so 1 means one standard deviation of real
 * reviews. The trainer's code never imports this module (taste-isolation.test.ts in
 * services/gpu-trainer checks the import graph): it learns the taste only from labels.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadBertDir } from "@ranklab/gpu-trainer/io/bert-dir";
import { disposeParams } from "@ranklab/gpu-trainer/models/params";
import { scoreItems } from "@ranklab/gpu-trainer/reward-model/score-tfjs";

export interface TasteModel {
  /** The folder it was read from. */
  dir: string;
  /** Standardised worth of a completion text (cached: a rater sees the same text again). */
  worth(text: string): number;
  /** Worth of many texts at once (batched scoring), cached like worth(). */
  worthMany(texts: readonly string[]): number[];
  close(): void;
}

export function loadTasteModel(dir: string): TasteModel {
  const metrics = JSON.parse(readFileSync(join(dir, "metrics.json"), "utf8")) as { train_reward_mean?: number; train_reward_std?: number };
  const mean = metrics.train_reward_mean;
  const std = metrics.train_reward_std;
  if (typeof mean !== "number" || typeof std !== "number" || !(std > 0))
    throw new Error(`${dir}: the taste model has no train_reward_mean/train_reward_std in metrics.json`);
  const model = loadBertDir(dir);
  const maxLength = Math.min(128, model.config.max_position_embeddings);
  const cache = new Map<string, number>();
  const worthMany = (texts: readonly string[]) => {
    const missing = [...new Set(texts.filter((t) => !cache.has(t)))];
    if (missing.length > 0) {
      const scores = scoreItems(
        model,
        missing.map((completion) => ({ completion })),
        { maxLength, batchSize: 64 },
      );
      missing.forEach((t, i) => cache.set(t, (scores[i]! - mean) / std));
    }
    return texts.map((t) => cache.get(t)!);
  };
  return { dir, worth: (text) => worthMany([text])[0]!, worthMany, close: () => disposeParams(model.params) };
}
