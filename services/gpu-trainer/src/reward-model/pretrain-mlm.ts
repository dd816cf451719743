import { z } from "zod";
import { AdamW } from "../engine/adamw.ts";
import { bertEncoderSpecs } from "../engine/bert-forward-graph.ts";
import { dropoutMasks } from "../engine/bert-engine.ts";
import { mlmCrossEntropy, OnnxBertMlmEngine, type MlmBatch } from "../engine/bert-mlm-engine.ts";
import { mlmHeadSpecs } from "../engine/bert-mlm-graphs.ts";
import type { EngineName } from "../engine/engine-name.ts";
import type { BertBase, BertWeights } from "../io/bert-dir.ts";
import { initStore } from "../io/weight-store.ts";
import type { BertConfig } from "../models/bert.ts";
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

/** Corrupted rows, single texts (token types 0), and the positions to predict with their original tokens. */
export type MaskedBatch = MlmBatch;

/** Picks ~maskRate of each row's real tokens (never [CLS]/[SEP]/[PAD]; at least one) and corrupts them BERT's way. */
export function maskBatch(model: BertBase, texts: readonly string[], maxLength: number, maskRate: number, random: () => number): MaskedBatch {
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

/** One engine's training step on a masked batch (with the dropout masks, if any) and its release; returns the loss. */
export interface MlmStepper {
  step(batch: MaskedBatch, masks: ReadonlyMap<string, Float32Array> | undefined): Promise<number>;
  close(): Promise<void>;
}

/** The onnxruntime stepper: the engine trains `weights`' arrays in place with AdamW as tf.train.adam (ε 1e-7, no decay). */
async function onnxMlmStepper(config: BertConfig, weights: Map<string, Float32Array>, learningRate: number, dropout: boolean): Promise<MlmStepper> {
  const engine = await OnnxBertMlmEngine.create(config, weights, { dropout });
  const adam = new AdamW(engine.weights, { learningRate });
  return {
    async step(batch, masks) {
      const forward = await engine.forward(batch, masks);
      const { loss, dLogprobs } = mlmCrossEntropy(forward.targetLogprobs);
      adam.step(await engine.backward(forward, dLogprobs));
      return loss;
    },
    close: () => engine.close(),
  };
}

export interface PretrainMlmOptions extends MlmConfig {
  maxLength: number;
  dropout: number;
  seed: number;
  quiet: boolean;
  /** onnx trains the store in place on onnxruntime; tfjs (the reference) on variables made from it, written back at the end. */
  engine: EngineName;
}

/**
 * Pretrains `model`'s encoder in place on `texts` (the pooler and classifier are not
 * touched). The MLM head's weights are drawn fresh (the store's seeded init) and dropped
 * afterwards. Dropout masks are drawn from the seed for either engine, so both train on
 * the same masks. Returns the mean loss of the last epoch.
 */
export async function pretrainMlm(model: BertWeights, texts: readonly string[], options: PretrainMlmOptions, log: (line: string) => void): Promise<number> {
  if (options.epochs === 0 || texts.length === 0) return Number.NaN;
  const config = model.config;
  const specs = [...bertEncoderSpecs(config), ...mlmHeadSpecs(config)];
  const weights = new Map([...model.weights, ...initStore(mlmHeadSpecs(config), options.seed + 7)]);
  const stepper =
    options.engine === "onnx"
      ? await onnxMlmStepper(config, weights, options.learningRate, options.dropout > 0)
      : // Imported only here, so the onnx path never loads the tfjs pretraining.
        (await import("./pretrain-mlm-tfjs.ts")).tfjsMlmStepper(config, specs, weights, options.learningRate);
  const random = seededRandom(options.seed + 11);
  const maskRandom = seededRandom(options.seed + 13);
  const stepsPerEpoch = Math.ceil(texts.length / options.batchSize);
  const progress = createProgress(stepsPerEpoch * options.epochs, "mlm", options.quiet, log);
  let lastEpochLoss = Number.NaN;
  let step = 0;
  try {
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      const order = shuffled(texts, random);
      let total = 0;
      let steps = 0;
      for (let start = 0; start < order.length; start += options.batchSize) {
        const batch = maskBatch(model, order.slice(start, start + options.batchSize), options.maxLength, options.maskRate, random);
        progress.update(++step);
        // A batch of texts with no real token (all empty) has nothing to predict.
        if (batch.positions.length === 0) continue;
        const masks = options.dropout > 0 ? dropoutMasks(config, batch.batch, batch.length, options.dropout, maskRandom) : undefined;
        total += await stepper.step(batch, masks);
        steps++;
      }
      lastEpochLoss = total / Math.max(steps, 1);
      progress.log(`mlm pretraining epoch ${epoch + 1}/${options.epochs}: loss ${lastEpochLoss.toFixed(4)}`);
    }
  } finally {
    progress.stop();
    await stepper.close();
  }
  return lastEpochLoss;
}
