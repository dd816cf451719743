import * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import { AdamW } from "../engine/adamw.ts";
import { dropoutMasks, OnnxBertEngine } from "../engine/bert-engine.ts";
import type { BertModel, BertWeights } from "../io/bert-dir.ts";
import { bertForward, bertParamSpecs } from "../models/bert.ts";
import { disposeParams, paramsFromStore } from "../models/params.ts";
import { encodeRewardItems, rewardInputOf, type RewardItem } from "../reward-model/reward-input.ts";
import { scoreItemsOnEngine } from "../reward-model/score-engine.ts";
import { asItems, scoreItems } from "../reward-model/score-tfjs.ts";
import type { Encoded } from "../tokenizer/wordpiece.ts";
import { createProgress } from "../util/progress.ts";
import { seededRandom, shuffled } from "../util/random.ts";
import { engineField } from "../engine/engine-name.ts";

export const ClassifierTrainSchema = z
  .object({
    epochs: z.number().int().min(1).default(2),
    batchSize: z.number().int().min(1).default(32),
    learningRate: z.number().positive().default(1e-3),
    maxLength: z.number().int().min(4).default(64),
    dropout: z.number().min(0).max(0.9).default(0.1),
    seed: z.number().int().default(0),
    quiet: z.boolean().default(false),
    // onnxruntime's training engine (with the dropout above as masks), or tfjs (the reference); nothing else picks it.
    engine: engineField(),
  })
  .strict();
export type ClassifierTrainConfig = z.infer<typeof ClassifierTrainSchema>;

export interface LabelledText {
  text: string;
  /** 1 positive, 0 negative. */
  label: 0 | 1;
}

/** Softmax cross-entropy over 2-way logits [B·2] (mean over rows) and its gradient with respect to them. */
export function softmaxCrossEntropyGrad(logits: Float32Array, labels: readonly number[]): { loss: number; dLogits: Float32Array } {
  const B = labels.length;
  const d = new Float32Array(logits.length);
  let loss = 0;
  for (let b = 0; b < B; b++) {
    const z0 = logits[2 * b]!;
    const z1 = logits[2 * b + 1]!;
    const max = Math.max(z0, z1);
    const lse = max + Math.log(Math.exp(z0 - max) + Math.exp(z1 - max));
    loss += lse - (labels[b] === 1 ? z1 : z0);
    d[2 * b] = (Math.exp(z0 - lse) - (labels[b] === 0 ? 1 : 0)) / B;
    d[2 * b + 1] = (Math.exp(z1 - lse) - (labels[b] === 1 ? 1 : 0)) / B;
  }
  return { loss: loss / B, dLogits: d };
}

/**
 * Cross-entropy training of a 2-way BERT classifier (label 1 = positive), its weight store trained in place: on
 * onnxruntime's engine (dropout as seeded masks), or on tfjs (variables made from the store, copied back at the end).
 * Returns the held-out accuracy.
 */
export async function trainClassifier(
  model: BertWeights,
  train: readonly LabelledText[],
  heldOut: readonly LabelledText[],
  config: ClassifierTrainConfig,
  log: (line: string) => void = console.log,
): Promise<number> {
  if (model.config.num_labels !== 2) throw new Error(`a sentiment classifier has 2 labels; this model has ${model.config.num_labels}`);
  const steps = Math.ceil(train.length / config.batchSize);
  const progress = createProgress(steps * config.epochs, "classifier", config.quiet, log);
  const stepper = config.engine === "onnx" ? await onnxClassifierStepper(model, config) : tfjsClassifierStepper(model, config);
  const random = seededRandom(config.seed);
  let step = 0;
  let accuracy = Number.NaN;
  try {
    for (let epoch = 0; epoch < config.epochs; epoch++) {
      const order = shuffled(train, random);
      let total = 0;
      for (let start = 0; start < order.length; start += config.batchSize) {
        const batch = order.slice(start, start + config.batchSize);
        const enc = encodeRewardItems(model.tokenizer, rewardInputOf(model.config), asItems(batch.map((b) => b.text)), config.maxLength);
        total += await stepper.step(
          enc,
          batch.map((b) => b.label),
        );
        progress.update(++step);
      }
      const p = await stepper.score(asItems(heldOut.map((h) => h.text)));
      accuracy = p.filter((v, i) => (v > 0.5 ? 1 : 0) === heldOut[i]!.label).length / heldOut.length;
      progress.log(`classifier epoch ${epoch + 1}/${config.epochs}: loss ${(total / steps).toFixed(4)}, held-out accuracy ${accuracy.toFixed(4)}`);
    }
  } finally {
    progress.stop();
    await stepper.finish();
  }
  return accuracy;
}

interface ClassifierStepper {
  step(enc: Encoded, labels: number[]): Promise<number>;
  score(items: RewardItem[]): Promise<number[]>;
  finish(): Promise<void>;
}

async function onnxClassifierStepper(model: BertWeights, config: ClassifierTrainConfig): Promise<ClassifierStepper> {
  const engine = await OnnxBertEngine.fromStore(model, { dropout: config.dropout > 0 });
  const adam = new AdamW(engine.weights, { learningRate: config.learningRate });
  const masksRandom = seededRandom(config.seed + 101);
  return {
    async step(enc, labels) {
      const masks = config.dropout > 0 ? dropoutMasks(model.config, enc.batch, enc.length, config.dropout, masksRandom) : undefined;
      const forward = await engine.forward(enc, masks);
      const { loss, dLogits } = softmaxCrossEntropyGrad(forward.outputs, labels);
      adam.step(await engine.backward(forward, dLogits));
      return loss;
    },
    score: (items) => scoreItemsOnEngine(engine, model, items, { maxLength: config.maxLength, batchSize: 64 }),
    finish: () => engine.close(),
  };
}

function tfjsClassifierStepper(store: BertWeights, config: ClassifierTrainConfig): ClassifierStepper {
  const model: BertModel = { config: store.config, tokenizer: store.tokenizer, params: paramsFromStore(bertParamSpecs(store.config), store.weights) };
  const optimizer = tf.train.adam(config.learningRate);
  const variables = [...model.params.values()];
  return {
    async step(enc, labels) {
      const loss = optimizer.minimize(
        () =>
          tf.losses.softmaxCrossEntropy(
            tf.oneHot(tf.tensor1d(labels, "int32"), 2),
            bertForward(
              model.params,
              model.config,
              {
                inputIds: tf.tensor2d(enc.inputIds, [enc.batch, enc.length], "int32"),
                attentionMask: tf.tensor2d(enc.attentionMask, [enc.batch, enc.length], "int32"),
              },
              config.dropout,
            ),
          ) as tf.Scalar,
        true,
        variables,
      )!;
      const value = (await loss.data())[0]!;
      loss.dispose();
      return value;
    },
    score: async (items) => scoreItems(model, items, { maxLength: config.maxLength, batchSize: 64 }),
    async finish() {
      for (const [name, v] of model.params) store.weights.get(name)!.set(v.dataSync() as Float32Array);
      optimizer.dispose();
      disposeParams(model.params);
    },
  };
}
