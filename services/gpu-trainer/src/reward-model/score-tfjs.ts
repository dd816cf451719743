import * as tf from "@tensorflow/tfjs";
import type { BertModel } from "../io/bert-dir.ts";
import { bertForward } from "../models/bert.ts";
import { encodeRewardItems, rewardInputOf, type RewardItem } from "./reward-input.ts";

export interface ScoreOptions {
  maxLength: number;
  batchSize: number;
}

/**
 * One number per item, fed as the model was trained (its `reward_input`): the reward
 * (num_labels = 1), or the probability of the last label, "positive", for a classifier
 * (the seed's sentiment reward, 0.0–1.0).
 */
export function scoreItems(model: BertModel, items: readonly RewardItem[], options: ScoreOptions): number[] {
  const kind = rewardInputOf(model.config);
  const out: number[] = [];
  for (let start = 0; start < items.length; start += options.batchSize) {
    const enc = encodeRewardItems(model.tokenizer, kind, items.slice(start, start + options.batchSize), options.maxLength);
    const values = tf.tidy(() => {
      const logits = bertForward(
        model.params,
        model.config,
        {
          inputIds: tf.tensor2d(enc.inputIds, [enc.batch, enc.length], "int32"),
          attentionMask: tf.tensor2d(enc.attentionMask, [enc.batch, enc.length], "int32"),
          tokenTypeIds: tf.tensor2d(enc.tokenTypeIds, [enc.batch, enc.length], "int32"),
        },
        0,
        true,
      );
      const labels = model.config.num_labels;
      return labels === 1 ? tf.reshape(logits, [enc.batch]) : tf.reshape(tf.slice(tf.softmax(logits, -1), [0, labels - 1], [enc.batch, 1]), [enc.batch]);
    });
    out.push(...(values.dataSync() as Float32Array));
    values.dispose();
  }
  return out;
}

/** Texts with no prompt (whole reviews, or completions scored alone). */
export const asItems = (texts: readonly string[], prompts?: readonly string[]): RewardItem[] =>
  texts.map((completion, i) => ({ completion, prompt: prompts?.[i] }));
