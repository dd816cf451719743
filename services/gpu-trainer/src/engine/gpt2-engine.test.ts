import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import type { Gpt2Model } from "../io/gpt2-dir.ts";
import { lmLoss } from "../lm/pretrain-gpt2.ts";
import { gpt2Forward, gpt2ParamSpecs, Gpt2ConfigSchema, type Gpt2Config } from "../models/gpt2.ts";
import { disposeParams, initParams } from "../models/params.ts";
import { vocabFromTokens } from "../tokenizer/vocab.ts";
import { WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { AdamW, gradClipScale, gradNorm } from "./adamw.ts";
import { OnnxGpt2Engine } from "./gpt2-engine.ts";
import { lmBatch, lmCrossEntropy, lmTargets } from "./lm-loss.ts";

const TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ..."好差很不错垃圾喜欢失望，。！这电影".split("")];
const tokenizer = new WordPieceTokenizer(vocabFromTokens(TOKENS, "tiny"));
const tinyConfig = (extra: Partial<Gpt2Config> = {}) =>
  Gpt2ConfigSchema.parse({ vocab_size: TOKENS.length, n_positions: 16, n_embd: 16, n_layer: 2, n_head: 2, ...extra });
const tinyModel = (config: Gpt2Config, valueHead: boolean, seed = 3): Gpt2Model => ({
  config,
  tokenizer,
  params: initParams(gpt2ParamSpecs(config, valueHead), seed, 0.2),
  hasValueHead: valueHead,
});
// Right-padded rows of different lengths, so padding, masking and the position scatter are exercised.
const ROWS = [
  [2, 5, 6, 7, 8, 9, 3],
  [2, 10, 11, 3],
  [2, 12, 5, 13, 14, 3],
];
const VALUE_TARGET = 0.3;

/**
 * The largest gradient error relative to the parameter's largest gradient entry, or,
 * for a parameter whose gradient is all but zero, its absolute error.
 */
function relativeError(got: Float32Array, want: Float32Array): number {
  let err = 0;
  let scale = 1e-3;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return err / scale;
}

/** tfjs's gradients of the LM loss (+ with a value head, mean (value − 0.3)² over real tokens). */
function tfjsGrads(model: Gpt2Model, rows: number[][]): { loss: number; grads: Map<string, Float32Array> } {
  const variables = [...model.params.values()];
  const names = new Map(variables.map((v) => [v.name, [...model.params].find(([, p]) => p === v)![0]]));
  const { value, grads } = tf.variableGrads(() => {
    let loss = lmLoss(model, rows);
    if (model.hasValueHead) {
      const b = lmBatch(rows, 0);
      const T = b.ids.length / b.batch;
      const out = gpt2Forward(model.params, model.config, {
        inputIds: tf.tensor2d(b.ids, [b.batch, T], "int32"),
        attentionMask: tf.tensor2d(b.mask, [b.batch, T], "int32"),
        positionIds: tf.tensor2d(b.positions, [b.batch, T], "int32"),
      });
      const m = tf.tensor2d(b.mask, [b.batch, T]).toFloat();
      loss = tf.add(loss, tf.div(tf.sum(tf.mul(tf.square(tf.sub(out.values!, VALUE_TARGET)), m)), tf.sum(m)));
    }
    return loss as tf.Scalar;
  }, variables);
  const out = new Map<string, Float32Array>();
  for (const [vname, g] of Object.entries(grads)) out.set(names.get(vname)!, g.dataSync() as Float32Array);
  const loss = value.dataSync()[0]!;
  tf.dispose([value, ...Object.values(grads)]);
  return { loss, grads: out };
}

/** The engine's loss and gradients for the same objective. */
async function onnxGrads(engine: OnnxGpt2Engine, rows: number[][]): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
  const batch = lmBatch(rows, 0);
  const fwd = await engine.forward(batch, lmTargets(batch));
  const lm = lmCrossEntropy(fwd.targetLogprobs, batch);
  let loss = lm.loss;
  let dValues: Float32Array | undefined;
  if (engine.valueHead) {
    const values = fwd.values!;
    const count = batch.mask.reduce((a, b) => a + b, 0);
    dValues = new Float32Array(values.length);
    for (let i = 0; i < values.length; i++) {
      if (!batch.mask[i]) continue;
      loss += (values[i]! - VALUE_TARGET) ** 2 / count;
      dValues[i] = (2 * (values[i]! - VALUE_TARGET)) / count;
    }
  }
  return { loss, grads: await engine.backward(fwd, lm.dLogprobs, dValues) };
}

beforeAll(async () => {
  await selectBackend("wasm");
});

// Documented tolerance: every gradient within 2e-5 of the parameter's largest gradient
// entry (float32 arithmetic in a different order; measured errors are ~1e-6,
// and a 0.3% error in one constant of the GELU derivative gives 1.6e-4).
const GRAD_TOLERANCE = 2e-5;

describe("GPT-2 gradients on onnxruntime", () => {
  for (const [label, extra, valueHead] of [
    ["gelu_new, tied head, value head", {}, true],
    ["gelu (erf), untied head", { activation_function: "gelu", tie_word_embeddings: false }, false],
    ["relu, n_inner 24", { activation_function: "relu", n_inner: 24 }, false],
    ["gelu_fast, scores scaled by 1/√hd and 1/(layer + 1)", { activation_function: "gelu_fast", scale_attn_by_inverse_layer_idx: true }, true],
    ["gelu_python, unscaled scores", { activation_function: "gelu_python", scale_attn_weights: false }, false],
  ] as const) {
    it(`equal tfjs's for every parameter (${label})`, async () => {
      const model = tinyModel(tinyConfig(extra), valueHead);
      const engine = await OnnxGpt2Engine.fromModel(model, { threads: 1 });
      const want = tfjsGrads(model, ROWS);
      const got = await onnxGrads(engine, ROWS);
      expect(Math.abs(got.loss - want.loss)).toBeLessThan(1e-5);
      expect([...got.grads.keys()].sort()).toEqual([...want.grads.keys()].sort());
      for (const [name, g] of want.grads) expect(relativeError(got.grads.get(name)!, g), name).toBeLessThan(GRAD_TOLERANCE);
      await engine.close();
      disposeParams(model.params);
    });
  }
});

describe("AdamW and clipping", () => {
  it("give tf.train.adam's weights after a few steps with clipped gradients", async () => {
    const model = tinyModel(tinyConfig(), false, 5);
    const engine = await OnnxGpt2Engine.fromModel(model, { threads: 1 });
    const variables = [...model.params.values()];
    const names = new Map(variables.map((v) => [v.name, [...model.params].find(([, p]) => p === v)![0]]));
    const tfAdam = tf.train.adam(1e-2);
    const adamw = new AdamW(engine.weights, { learningRate: 1e-2 });
    const maxNorm = 0.5;
    for (let step = 0; step < 3; step++) {
      const rows = ROWS.map((r) => r.map((t, i) => (i > 0 && i < r.length - 1 ? 5 + ((t + step) % 15) : t)));
      const want = tfjsGrads(model, rows).grads;
      const norm = gradNorm(want);
      expect(norm).toBeGreaterThan(maxNorm); // so clipping acts
      const scale = Math.min(1, maxNorm / (norm + 1e-6));
      tfAdam.applyGradients(variables.map((v) => ({ name: v.name, tensor: tf.tensor(want.get(names.get(v.name)!)!, v.shape).mul(scale) })));
      const got = (await onnxGrads(engine, rows)).grads;
      // The trainers' path: the clip's scale, applied by AdamW as it reads the gradients.
      const clip = gradClipScale(got, maxNorm);
      expect(clip.norm).toBeCloseTo(norm, 4);
      expect(clip.scale * clip.norm).toBeCloseTo(maxNorm, 5);
      adamw.step(got, clip.scale);
    }
    // Adam's steps are ±lr where a gradient is tiny, so compare against lr.
    for (const [name, v] of model.params) {
      const want = v.dataSync();
      const got = engine.weights.get(name)!;
      let err = 0;
      for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i]! - want[i]!));
      expect(err, name).toBeLessThan(1e-2 * 0.05);
    }
    tfAdam.dispose();
    await engine.close();
    disposeParams(model.params);
  });

  it("decays matrices but not biases or LayerNorm scales", () => {
    const params = new Map([
      ["transformer.h.0.mlp.c_fc.weight", Float32Array.of(1, -2)],
      ["transformer.h.0.mlp.c_fc.bias", Float32Array.of(1, -2)],
      ["transformer.h.0.ln_1.weight", Float32Array.of(1, -2)],
    ]);
    const opt = new AdamW(params, { learningRate: 0.1, weightDecay: 0.5 });
    const zero = new Map([...params.keys()].map((n) => [n, new Float32Array(2)]));
    opt.step(zero);
    expect([...params.get("transformer.h.0.mlp.c_fc.weight")!]).toEqual([0.949999988079071, -1.899999976158142]);
    expect([...params.get("transformer.h.0.mlp.c_fc.bias")!]).toEqual([1, -2]);
    expect([...params.get("transformer.h.0.ln_1.weight")!]).toEqual([1, -2]);
  });
});

describe("OnnxGpt2Engine's inputs", () => {
  it("names a position past n_positions or a token outside the vocabulary", async () => {
    const config = tinyConfig();
    const model = tinyModel(config, false);
    const engine = await OnnxGpt2Engine.fromModel(model, { threads: 1 });
    const long = lmBatch([Array.from({ length: config.n_positions + 1 }, () => 5)], 0);
    await expect(engine.forward(long, lmTargets(long))).rejects.toThrow(/position is outside 0\.\.15/);
    const bad = lmBatch([[2, 5, config.vocab_size]], 0);
    await expect(engine.forward(bad, lmTargets(bad))).rejects.toThrow(/outside the vocabulary/);
    await engine.close();
    disposeParams(model.params);
  });
});
