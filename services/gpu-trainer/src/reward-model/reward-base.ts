import { existsSync } from "node:fs";
import { join } from "node:path";
import { readBertDir, writeBertDir } from "../io/bert-dir.ts";

/** Whether `dir` holds a model folder (config.json and weights), i.e. something a reward model can start from. */
export const isModelDir = (dir: string | undefined): dir is string => !!dir && existsSync(join(dir, "config.json"));

/**
 * A reward base from a 2-way sentiment classifier: the same encoder, with a one-output
 * head whose weights are the difference of the classifier's rows (w₁ − w₀, b₁ − b₀). Its
 * reward is then the classifier's log-odds of "positive", log P(pos) − log P(neg), so the
 * first reward model the loop fine-tunes starts from what the classifier knows instead of
 * a random head that would first have to relearn it. The classifier's reward input
 * (`concat`: prompt and completion as one review) is kept, as it was trained that way.
 */
export function rewardBaseFromClassifier(classifierDir: string, outDir: string, extra: Record<string, unknown> = {}): void {
  const classifier = readBertDir(classifierDir);
  if (classifier.config.num_labels !== 2)
    throw new Error(`${classifierDir}: a reward base is made from a 2-way classifier; this one has ${classifier.config.num_labels} labels`);
  const H = classifier.config.hidden_size;
  const w = classifier.weights.get("classifier.weight")!;
  const b = classifier.weights.get("classifier.bias")!;
  // Row 1 − row 0 of the [2, H] head: the log-odds of positive.
  const weights = new Map(classifier.weights);
  weights.set(
    "classifier.weight",
    Float32Array.from({ length: H }, (_, i) => w[H + i]! - w[i]!),
  );
  weights.set("classifier.bias", Float32Array.of(b[1]! - b[0]!));
  writeBertDir(
    outDir,
    { config: { ...classifier.config, num_labels: 1 }, tokenizer: classifier.tokenizer, weights },
    { "metrics.json": { made_from: classifierDir, head: "classifier log-odds (w1 - w0, b1 - b0)", ...extra } },
  );
}
