import { existsSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { loadBertDir, saveBertDir, type BertModel } from "../io/bert-dir.ts";
import { disposeParams, type Params } from "../models/params.ts";

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
  const classifier = loadBertDir(classifierDir);
  try {
    if (classifier.config.num_labels !== 2) throw new Error(`${classifierDir}: a reward base is made from a 2-way classifier; this one has ${classifier.config.num_labels} labels`);
    const params: Params = new Map(classifier.params);
    const w = classifier.params.get("classifier.weight")!;
    const b = classifier.params.get("classifier.bias")!;
    const head = tf.tidy(() => ({
      weight: tf.sub(w.slice([1, 0], [1, -1]), w.slice([0, 0], [1, -1])),
      bias: tf.sub(b.slice([1], [1]), b.slice([0], [1])),
    }));
    params.set("classifier.weight", tf.variable(head.weight));
    params.set("classifier.bias", tf.variable(head.bias));
    tf.dispose([head.weight, head.bias]);
    const base: BertModel = { config: { ...classifier.config, num_labels: 1 }, tokenizer: classifier.tokenizer, params };
    saveBertDir(outDir, base, { "metrics.json": { made_from: classifierDir, head: "classifier log-odds (w1 - w0, b1 - b0)", ...extra } });
    params.get("classifier.weight")!.dispose();
    params.get("classifier.bias")!.dispose();
  } finally {
    disposeParams(classifier.params);
  }
}
