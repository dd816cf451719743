import * as tf from "@tensorflow/tfjs";
import type { BertModel } from "../io/bert-dir.ts";
import { bertForward } from "../models/bert.ts";

export interface ScoreOptions {
  maxLength: number;
  batchSize: number;
  /** Prompts paired with the texts (`[CLS] prompt [SEP] text [SEP]`), when the model was trained that way. */
  prompts?: readonly string[];
}

/**
 * One number per text: the reward (num_labels = 1), or the probability of the last
 * label, "positive", for a classifier (the seed's sentiment reward, 0.0–1.0).
 */
export function scoreTexts(model: BertModel, texts: readonly string[], options: ScoreOptions): number[] {
  const out: number[] = [];
  for (let start = 0; start < texts.length; start += options.batchSize) {
    const part = texts.slice(start, start + options.batchSize);
    const prompts = options.prompts?.slice(start, start + options.batchSize);
    // Pairs put the prompt first, as `[CLS] prompt [SEP] text [SEP]`.
    const enc = prompts ? model.tokenizer.encodeBatch(prompts, options.maxLength, part) : model.tokenizer.encodeBatch(part, options.maxLength);
    const values = tf.tidy(() => {
      const logits = bertForward(model.params, model.config, {
        inputIds: tf.tensor2d(enc.inputIds, [enc.batch, enc.length], "int32"),
        attentionMask: tf.tensor2d(enc.attentionMask, [enc.batch, enc.length], "int32"),
        tokenTypeIds: tf.tensor2d(enc.tokenTypeIds, [enc.batch, enc.length], "int32"),
      });
      const labels = model.config.num_labels;
      return labels === 1 ? tf.reshape(logits, [enc.batch]) : tf.reshape(tf.slice(tf.softmax(logits, -1), [0, labels - 1], [enc.batch, 1]), [enc.batch]);
    });
    out.push(...(values.dataSync() as Float32Array));
    values.dispose();
  }
  return out;
}
