import * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import type { Gpt2Model, Gpt2Weights } from "../io/gpt2-dir.ts";
import { AdamW } from "../engine/adamw.ts";
import { OnnxGpt2Engine } from "../engine/gpt2-engine.ts";
import { lmBatch, lmCrossEntropy, lmTargets } from "../engine/lm-loss.ts";
import { gpt2Forward, gpt2ParamSpecs } from "../models/gpt2.ts";
import { disposeParams, paramsFromStore } from "../models/params.ts";
import { createProgress } from "../util/progress.ts";
import { seededRandom, shuffled } from "../util/random.ts";
import { engineField } from "../engine/engine-name.ts";

export const LmTrainSchema = z
  .object({
    epochs: z.number().int().min(1).default(2),
    // 32 reviews a step: ~1,500 tokens, a fraction of a second on 2 cores at d=128.
    batchSize: z.number().int().min(1).default(32),
    // Adam at 1e-3 with a short warmup: standard for a small transformer from scratch.
    learningRate: z.number().positive().default(1e-3),
    warmupSteps: z.number().int().min(0).default(50),
    maxLength: z.number().int().min(4).default(64),
    seed: z.number().int().default(0),
    quiet: z.boolean().default(false),
    // onnxruntime's forward and backward graphs (src/engine/): the same losses as tfjs
    // (tested) and 6–12× faster on 2 cores for prepare's policy (`npm run bench training-engine`).
    engine: engineField(),
  })
  .strict();
export type LmTrainConfig = z.infer<typeof LmTrainSchema>;

/** `[CLS] text [SEP]`, truncated: the format Chinese GPT-2 checkpoints (uer) train on and generation stops at. */
export function lmSequence(model: Pick<Gpt2Weights, "tokenizer">, text: string, maxLength: number): number[] {
  const tok = model.tokenizer;
  return [tok.cls, ...tok.encodeText(text), tok.sep].slice(0, maxLength);
}

/** Mean next-token cross-entropy over real tokens of right-padded rows. Call inside tf.tidy. */
export function lmLoss(model: Gpt2Model, rows: number[][]): tf.Scalar {
  const B = rows.length;
  const T = Math.max(...rows.map((r) => r.length));
  const V = model.config.vocab_size;
  const ids = new Int32Array(B * T).fill(model.tokenizer.pad);
  const mask = new Int32Array(B * T);
  const positions = new Int32Array(B * T);
  rows.forEach((r, b) =>
    r.forEach((t, i) => {
      ids[b * T + i] = t;
      mask[b * T + i] = 1;
      positions[b * T + i] = i;
    }),
  );
  const idT = tf.tensor2d(ids, [B, T], "int32");
  const maskT = tf.tensor2d(mask, [B, T], "int32");
  const out = gpt2Forward(model.params, model.config, { inputIds: idT, attentionMask: maskT, positionIds: tf.tensor2d(positions, [B, T], "int32") });
  const logp = tf.logSoftmax(tf.slice(out.logits, [0, 0, 0], [B, T - 1, V]));
  const target = tf.oneHot(tf.reshape(tf.slice(idT, [0, 1], [B, T - 1]), [B * (T - 1)]), V).reshape([B, T - 1, V]);
  const nll = tf.neg(tf.sum(tf.mul(logp, target), -1)); // [B, T−1]
  const real = tf.cast(tf.slice(maskT, [0, 1], [B, T - 1]), "float32");
  return tf.div(tf.sum(tf.mul(nll, real)), tf.sum(real)) as tf.Scalar;
}

/** One optimiser step on a batch of rows, returning the loss before it; `finish` leaves the weights in the model. */
interface LmStepper {
  step(rows: number[][], learningRate: number): Promise<number>;
  finish(): Promise<void>;
}

function tfjsStepper(store: Gpt2Weights, learningRate: number): LmStepper {
  // The tfjs reference path: variables made from the store, trained, and written back into it at the end.
  const specs = gpt2ParamSpecs(store.config, false);
  const model: Gpt2Model = { ...store, params: paramsFromStore(specs, store.weights) };
  const variables = [...model.params.values()];
  const optimizer = tf.train.adam(learningRate);
  return {
    async step(rows, lr) {
      (optimizer as unknown as { learningRate: number }).learningRate = lr;
      const loss = optimizer.minimize(() => lmLoss(model, rows), true, variables)!;
      const value = (await loss.data())[0]!;
      loss.dispose();
      return value;
    },
    async finish() {
      for (const [name, v] of model.params) store.weights.get(name)!.set(v.dataSync() as Float32Array);
      optimizer.dispose();
      disposeParams(model.params);
    },
  };
}

/** The same steps on onnxruntime, over the store's own arrays (trained in place): lmLoss's objective, tf.train.adam's update (AdamW without decay, ε = 1e-7). */
async function onnxStepper(model: Gpt2Weights, learningRate: number): Promise<LmStepper> {
  const engine = await OnnxGpt2Engine.fromStore(model, { valueHead: false });
  const adam = new AdamW(engine.weights, { learningRate });
  return {
    async step(rows, lr) {
      const batch = lmBatch(rows, model.tokenizer.pad);
      const forward = await engine.forward(batch, lmTargets(batch));
      const { loss, dLogprobs } = lmCrossEntropy(forward.targetLogprobs, batch);
      adam.learningRate = lr;
      adam.step(await engine.backward(forward, dLogprobs));
      return loss;
    },
    async finish() {
      await engine.close();
    },
  };
}

/** Trains a GPT-2's weight store as a language model on `texts`, in place. Returns each epoch's mean loss. */
export async function pretrainGpt2(
  model: Gpt2Weights,
  texts: readonly string[],
  config: LmTrainConfig,
  log: (line: string) => void = console.log,
): Promise<number[]> {
  const sequences = texts.map((t) => lmSequence(model, t, config.maxLength));
  const stepper = config.engine === "onnx" ? await onnxStepper(model, config.learningRate) : tfjsStepper(model, config.learningRate);
  const random = seededRandom(config.seed);
  const stepsPerEpoch = Math.ceil(sequences.length / config.batchSize);
  const progress = createProgress(stepsPerEpoch * config.epochs, "gpt-2", config.quiet, log);
  const losses: number[] = [];
  let step = 0;
  const started = performance.now();
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    const order = shuffled(sequences, random);
    let total = 0;
    for (let start = 0; start < order.length; start += config.batchSize) {
      // Linear warmup: the first Adam steps from random weights are the unstable ones.
      total += await stepper.step(
        order.slice(start, start + config.batchSize),
        config.learningRate * Math.min(1, (step + 1) / Math.max(1, config.warmupSteps)),
      );
      progress.update(++step);
    }
    losses.push(total / stepsPerEpoch);
    progress.log(`gpt-2 epoch ${epoch + 1}/${config.epochs}: loss ${losses.at(-1)!.toFixed(4)} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  progress.stop();
  await stepper.finish();
  return losses;
}
