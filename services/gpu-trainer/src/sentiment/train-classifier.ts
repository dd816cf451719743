import * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import type { BertModel } from "../io/bert-dir.ts";
import { bertForward } from "../models/bert.ts";
import { encodeRewardItems, rewardInputOf } from "../reward-model/reward-input.ts";
import { asItems, scoreItems } from "../reward-model/score-tfjs.ts";
import { createProgress } from "../util/progress.ts";
import { seededRandom, shuffled } from "../util/random.ts";

export const ClassifierTrainSchema = z
  .object({
    epochs: z.number().int().min(1).default(2),
    batchSize: z.number().int().min(1).default(32),
    learningRate: z.number().positive().default(1e-3),
    maxLength: z.number().int().min(4).default(64),
    dropout: z.number().min(0).max(0.9).default(0.1),
    seed: z.number().int().default(0),
    quiet: z.boolean().default(false),
  })
  .strict();
export type ClassifierTrainConfig = z.infer<typeof ClassifierTrainSchema>;

export interface LabelledText {
  text: string;
  /** 1 positive, 0 negative. */
  label: 0 | 1;
}

/** Cross-entropy training of a 2-way BERT classifier (label 1 = positive), in place. Returns the held-out accuracy. */
export async function trainClassifier(model: BertModel, train: readonly LabelledText[], heldOut: readonly LabelledText[], config: ClassifierTrainConfig, log: (line: string) => void = console.log): Promise<number> {
  if (model.config.num_labels !== 2) throw new Error(`a sentiment classifier has 2 labels; this model has ${model.config.num_labels}`);
  const optimizer = tf.train.adam(config.learningRate);
  const variables = [...model.params.values()];
  const random = seededRandom(config.seed);
  const steps = Math.ceil(train.length / config.batchSize);
  const progress = createProgress(steps * config.epochs, "classifier", config.quiet, log);
  let step = 0;
  let accuracy = Number.NaN;
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    const order = shuffled(train, random);
    let total = 0;
    for (let start = 0; start < order.length; start += config.batchSize) {
      const batch = order.slice(start, start + config.batchSize);
      const enc = encodeRewardItems(model.tokenizer, rewardInputOf(model.config), asItems(batch.map((b) => b.text)), config.maxLength);
      const loss = optimizer.minimize(
        () =>
          tf.losses.softmaxCrossEntropy(
            tf.oneHot(tf.tensor1d(batch.map((b) => b.label), "int32"), 2),
            bertForward(model.params, model.config, {
              inputIds: tf.tensor2d(enc.inputIds, [enc.batch, enc.length], "int32"),
              attentionMask: tf.tensor2d(enc.attentionMask, [enc.batch, enc.length], "int32"),
            }, config.dropout),
          ) as tf.Scalar,
        true,
        variables,
      )!;
      total += (await loss.data())[0]!;
      loss.dispose();
      progress.update(++step);
    }
    const p = scoreItems(model, asItems(heldOut.map((h) => h.text)), { maxLength: config.maxLength, batchSize: 64 });
    accuracy = p.filter((v, i) => (v > 0.5 ? 1 : 0) === heldOut[i]!.label).length / heldOut.length;
    progress.log(`classifier epoch ${epoch + 1}/${config.epochs}: loss ${(total / steps).toFixed(4)}, held-out accuracy ${accuracy.toFixed(4)}`);
  }
  progress.stop();
  optimizer.dispose();
  return accuracy;
}
