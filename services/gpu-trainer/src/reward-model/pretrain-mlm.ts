import * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import type { BertModel } from "../io/bert-dir.ts";
import { bertEncode } from "../models/bert.ts";
import { activate, layerNorm } from "../models/layers.ts";
import { disposeParams, get, initParams, type Params } from "../models/params.ts";
import { createProgress } from "../util/progress.ts";
import { seededRandom, shuffled } from "../util/random.ts";

/**
 * Masked-language-model pretraining, as BERT was pretrained, for an encoder that starts
 * from scratch: a reward model's few thousand ranked texts teach it little about which
 * characters go together, and the same texts, unlabeled, teach that for free.
 */
export const MlmSchema = z
  .object({
    // 0 turns pretraining off (a pretrained base model never needs it).
    epochs: z.number().int().min(0).max(100).default(0),
    // BERT's recipe: 15% of tokens, of which 80% [MASK], 10% random, 10% kept.
    maskRate: z.number().gt(0).lt(1).default(0.15),
    // 32 texts a step like the reward steps; a higher rate than fine-tuning, as in BERT.
    batchSize: z.number().int().min(1).default(32),
    learningRate: z.number().positive().default(1e-3),
  })
  .strict();
export type MlmConfig = z.infer<typeof MlmSchema>;

/** Hugging Face's BertForMaskedLM head; the decoder is tied to the word embeddings. */
function mlmHead(model: BertModel, seed: number): Params {
  const H = model.config.hidden_size;
  return initParams(
    [
      { name: "cls.predictions.transform.dense.weight", shape: [H, H], init: "normal" },
      { name: "cls.predictions.transform.dense.bias", shape: [H], init: "zeros" },
      { name: "cls.predictions.transform.LayerNorm.weight", shape: [H], init: "ones" },
      { name: "cls.predictions.transform.LayerNorm.bias", shape: [H], init: "zeros" },
      { name: "cls.predictions.bias", shape: [model.config.vocab_size], init: "zeros" },
    ],
    seed,
  );
}

export interface MaskedBatch {
  inputIds: Int32Array;
  attentionMask: Int32Array;
  batch: number;
  length: number;
  /** Flat indices (row × length + column) of the positions to predict. */
  positions: Int32Array;
  /** The original token at each of those positions. */
  labels: Int32Array;
}

/** Picks ~maskRate of each row's real tokens (never [CLS]/[SEP]/[PAD]; at least one) and corrupts them BERT's way. */
export function maskBatch(
  model: Pick<BertModel, "tokenizer" | "config">,
  texts: readonly string[],
  maxLength: number,
  maskRate: number,
  random: () => number,
): MaskedBatch {
  const tok = model.tokenizer;
  const enc = tok.encodeBatch(texts, maxLength);
  const inputIds = Int32Array.from(enc.inputIds);
  const maskId = tok.vocab.ids.get("[MASK]") ?? tok.unk;
  const special = new Set([tok.cls, tok.sep, tok.pad]);
  const positions: number[] = [];
  const labels: number[] = [];
  for (let b = 0; b < enc.batch; b++) {
    const candidates: number[] = [];
    for (let t = 0; t < enc.length; t++) if (!special.has(inputIds[b * enc.length + t]!)) candidates.push(b * enc.length + t);
    if (candidates.length === 0) continue;
    let chosen = candidates.filter(() => random() < maskRate);
    if (chosen.length === 0) chosen = [candidates[Math.floor(random() * candidates.length)]!];
    for (const i of chosen) {
      positions.push(i);
      labels.push(inputIds[i]!);
      const r = random();
      // Random replacements skip the special tokens at the head of the vocabulary.
      if (r < 0.8) inputIds[i] = maskId;
      else if (r < 0.9) inputIds[i] = 5 + Math.floor(random() * (model.config.vocab_size - 5));
    }
  }
  return {
    inputIds,
    attentionMask: Int32Array.from(enc.attentionMask),
    batch: enc.batch,
    length: enc.length,
    positions: Int32Array.from(positions),
    labels: Int32Array.from(labels),
  };
}

/** Cross-entropy of the masked positions' predictions. Call inside optimizer.minimize. */
function mlmLoss(model: BertModel, head: Params, batch: MaskedBatch, dropout: number): tf.Scalar {
  const p = model.config.model_type === "ernie" ? "ernie" : "bert";
  const H = model.config.hidden_size;
  const x = bertEncode(
    model.params,
    model.config,
    {
      inputIds: tf.tensor2d(batch.inputIds, [batch.batch, batch.length], "int32"),
      attentionMask: tf.tensor2d(batch.attentionMask, [batch.batch, batch.length], "int32"),
    },
    dropout,
  );
  const picked = tf.gather(tf.reshape(x, [batch.batch * batch.length, H]), tf.tensor1d(batch.positions, "int32")) as tf.Tensor2D; // [M, H]
  const dense = tf.add(tf.matMul(picked, get(head, "cls.predictions.transform.dense.weight"), false, true), get(head, "cls.predictions.transform.dense.bias"));
  const h = layerNorm(head, "cls.predictions.transform.LayerNorm", activate(model.config.hidden_act, dense), model.config.layer_norm_eps) as tf.Tensor2D;
  const logits = tf.add(tf.matMul(h, get(model.params, `${p}.embeddings.word_embeddings.weight`), false, true), get(head, "cls.predictions.bias")); // [M, V]
  const logProbs = tf.logSoftmax(logits);
  return tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(tf.tensor1d(batch.labels, "int32"), model.config.vocab_size), logProbs), 1))) as tf.Scalar;
}

/**
 * Pretrains `model`'s encoder in place on `texts` (the head, pooler and classifier are
 * not touched). Returns the mean loss of the last epoch.
 */
export async function pretrainMlm(
  model: BertModel,
  texts: readonly string[],
  options: MlmConfig & { maxLength: number; dropout: number; seed: number; quiet: boolean },
  log: (line: string) => void,
): Promise<number> {
  if (options.epochs === 0 || texts.length === 0) return Number.NaN;
  const head = mlmHead(model, options.seed + 7);
  const p = model.config.model_type === "ernie" ? "ernie" : "bert";
  const variables = [
    ...[...model.params.entries()].filter(([name]) => name.startsWith(`${p}.`) && !name.includes(".pooler.")).map(([, v]) => v),
    ...head.values(),
  ];
  const optimizer = tf.train.adam(options.learningRate);
  const random = seededRandom(options.seed + 11);
  const stepsPerEpoch = Math.ceil(texts.length / options.batchSize);
  const progress = createProgress(stepsPerEpoch * options.epochs, "mlm", options.quiet, log);
  let lastEpochLoss = Number.NaN;
  let step = 0;
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const order = shuffled(texts, random);
    let total = 0;
    for (let start = 0; start < order.length; start += options.batchSize) {
      const batch = maskBatch(model, order.slice(start, start + options.batchSize), options.maxLength, options.maskRate, random);
      const loss = optimizer.minimize(() => mlmLoss(model, head, batch, options.dropout), true, variables)!;
      total += (await loss.data())[0]!;
      loss.dispose();
      progress.update(++step);
    }
    lastEpochLoss = total / stepsPerEpoch;
    progress.log(`mlm pretraining epoch ${epoch + 1}/${options.epochs}: loss ${lastEpochLoss.toFixed(4)}`);
  }
  progress.stop();
  optimizer.dispose();
  disposeParams(head);
  return lastEpochLoss;
}
