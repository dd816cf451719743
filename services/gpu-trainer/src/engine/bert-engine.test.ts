import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import type { BertModel } from "../io/bert-dir.ts";
import { BertConfigSchema, bertForward, bertParamSpecs, type BertConfig } from "../models/bert.ts";
import { disposeParams, initParams } from "../models/params.ts";
import { rankLoss } from "../reward-model/rank-loss.ts";
import { buildCharVocab } from "../tokenizer/build-vocab.ts";
import { WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { AdamW } from "./adamw.ts";
import { seededRandom } from "../util/random.ts";
import { dropoutMasks, OnnxBertEngine, rankLossGrad } from "./bert-engine.ts";

const TEXTS = ["这部电影很好看", "太差了", "还行吧，一般般", "喜欢！", "失望，不会再买了", "不错不错"];
const PAIRS = ["好", "差评", "一般", "很好", "垃圾", "不错"];
const tokenizer = new WordPieceTokenizer(buildCharVocab([...TEXTS, ...PAIRS], 500));
const tinyConfig = (extra: Record<string, unknown>) =>
  BertConfigSchema.parse({
    vocab_size: tokenizer.vocab.tokens.length,
    hidden_size: 16,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 24,
    max_position_embeddings: 24,
    ...extra,
  });
// Pairs within a rank list of 6 (better first), as the reward trainer makes them.
const BETTER = Int32Array.from([0, 0, 1, 3, 3, 5]);
const WORSE = Int32Array.from([1, 2, 2, 4, 5, 4]);

beforeAll(async () => {
  await selectBackend("wasm");
});

function relativeError(got: Float32Array, want: Float32Array): number {
  let err = 0;
  let scale = 1e-3;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return err / scale;
}

/** tfjs's loss and gradients: the rank loss on the rewards (num_labels 1), or Σ c·outputs with fixed c. */
function tfjsGrads(model: BertModel, enc: ReturnType<WordPieceTokenizer["encodeBatch"]>, weights?: Float32Array, masks?: Map<string, Float32Array>) {
  const variables = [...model.params.values()];
  const names = new Map(variables.map((v) => [v.name, [...model.params].find(([, p]) => p === v)![0]]));
  const { value, grads } = tf.variableGrads(() => {
    const out = bertForward(
      model.params,
      model.config,
      {
        inputIds: tf.tensor2d(enc.inputIds, [enc.batch, enc.length], "int32"),
        attentionMask: tf.tensor2d(enc.attentionMask, [enc.batch, enc.length], "int32"),
        tokenTypeIds: tf.tensor2d(enc.tokenTypeIds, [enc.batch, enc.length], "int32"),
      },
      masks ? (site, shape) => tf.tensor(masks.get(site)!, shape) : 0,
    );
    return (weights ? tf.sum(tf.mul(out, tf.tensor(weights, out.shape))) : rankLoss(tf.reshape(out, [enc.batch]) as tf.Tensor1D, BETTER, WORSE)) as tf.Scalar;
  }, variables);
  const out = new Map<string, Float32Array>();
  for (const [vname, g] of Object.entries(grads)) out.set(names.get(vname)!, g.dataSync() as Float32Array);
  const loss = value.dataSync()[0]!;
  tf.dispose([value, ...Object.values(grads)]);
  return { loss, grads: out };
}

// Documented tolerance: every gradient within 5e-5 of max(the parameter's largest gradient entry, 1e-3).
// Measured: up to 1.3e-5, from parameters whose exact gradient is 0 (the classifier's bias under the
// shift-invariant rank loss, attention key biases under the softmax) where both engines give float
// noise of ~1e-8; a 0.1% error in the pooler's tanh derivative gives 9e-4.
const GRAD_TOLERANCE = 5e-5;

describe("BERT gradients on onnxruntime", () => {
  for (const [label, extra, dropout] of [
    ["bert, [CLS] and pooler, gelu, text pairs, rank loss", {}, 0],
    [
      "ernie with task ids, mean pooling, no pooler, bigrams, gelu_new, rank loss",
      { model_type: "ernie", use_task_id: true, classifier_pooling: "mean", add_pooling_layer: false, bigram_buckets: 7, hidden_act: "gelu_new" },
      0,
    ],
    ["relu, two labels, a linear loss", { hidden_act: "relu", num_labels: 2 }, 0],
    ["bert with dropout 0.3 (the same masks in both), text pairs, rank loss", {}, 0.3],
    [
      "ernie, mean pooling, no pooler, with dropout 0.3, two labels, a linear loss",
      { model_type: "ernie", use_task_id: true, classifier_pooling: "mean", add_pooling_layer: false, num_labels: 2 },
      0.3,
    ],
  ] as const) {
    it(`equal tfjs's for every parameter (${label})`, async () => {
      const config: BertConfig = tinyConfig(extra);
      const model: BertModel = { config, tokenizer, params: initParams(bertParamSpecs(config), 11, 0.2) };
      const enc = tokenizer.encodeBatch(TEXTS, 16, label.includes("pairs") ? PAIRS : undefined);
      const linear = config.num_labels > 1 ? Float32Array.from({ length: enc.batch * config.num_labels }, (_, i) => Math.sin(i + 1)) : undefined;
      const masks = dropout > 0 ? dropoutMasks(config, enc.batch, enc.length, dropout, seededRandom(3)) : undefined;
      if (masks) expect([...masks.values()].some((m) => m.includes(0))).toBe(true);
      const want = tfjsGrads(model, enc, linear, masks);
      const engine = await OnnxBertEngine.fromModel(model, { threads: 1, dropout: masks !== undefined });
      const fwd = await engine.forward(enc, masks);
      let loss: number;
      let dOutputs: Float32Array;
      if (linear) {
        loss = fwd.outputs.reduce((s, v, i) => s + v * linear[i]!, 0);
        dOutputs = linear;
      } else {
        ({ loss, dRewards: dOutputs } = rankLossGrad(fwd.outputs, BETTER, WORSE));
      }
      const got = await engine.backward(fwd, dOutputs);
      expect(Math.abs(loss - want.loss)).toBeLessThan(1e-5);
      expect([...got.keys()].sort()).toEqual([...want.grads.keys()].sort());
      for (const [name, g] of want.grads) expect(relativeError(got.get(name)!, g), name).toBeLessThan(GRAD_TOLERANCE);
      await engine.close();
      disposeParams(model.params);
    });
  }
});

describe("BERT reward-model training on onnxruntime", () => {
  it("follows tf.train.adam on tfjs step for step under the rank loss", async () => {
    const config = tinyConfig({ classifier_pooling: "mean", bigram_buckets: 7 });
    const a: BertModel = { config, tokenizer, params: initParams(bertParamSpecs(config), 5, 0.2) };
    const b: BertModel = { config, tokenizer, params: initParams(bertParamSpecs(config), 5, 0.2) };
    const enc = tokenizer.encodeBatch(TEXTS, 16);
    const variables = [...a.params.values()];
    const optimizer = tf.train.adam(1e-2);
    const engine = await OnnxBertEngine.fromModel(b, { threads: 1 });
    const adam = new AdamW(engine.weights, { learningRate: 1e-2 });
    const tfjsLosses: number[] = [];
    const onnxLosses: number[] = [];
    for (let step = 0; step < 8; step++) {
      const loss = optimizer.minimize(
        () =>
          rankLoss(
            tf.reshape(
              bertForward(a.params, config, {
                inputIds: tf.tensor2d(enc.inputIds, [enc.batch, enc.length], "int32"),
                attentionMask: tf.tensor2d(enc.attentionMask, [enc.batch, enc.length], "int32"),
              }),
              [enc.batch],
            ) as tf.Tensor1D,
            BETTER,
            WORSE,
          ),
        true,
        variables,
      )!;
      tfjsLosses.push(loss.dataSync()[0]!);
      loss.dispose();
      const fwd = await engine.forward(enc);
      const { loss: l, dRewards } = rankLossGrad(fwd.outputs, BETTER, WORSE);
      onnxLosses.push(l);
      adam.step(await engine.backward(fwd, dRewards));
    }
    // It learns the 6 pairs, and both engines trace the same losses (measured: within 3e-6).
    expect(tfjsLosses.at(-1)!).toBeLessThan(tfjsLosses[0]! * 0.5);
    onnxLosses.forEach((l, i) => expect(Math.abs(l - tfjsLosses[i]!), `step ${i}`).toBeLessThan(1e-4));
    // The same weights, but for parameters whose exact gradient is 0 (the classifier's bias under the
    // shift-invariant rank loss; attention key biases under the softmax): Adam turns each engine's
    // float noise there into steps of ±lr, which the loss cannot see. Measured: within 1.2e-5, lr = 1e-2.
    engine.writeTo(b);
    for (const [name, v] of a.params) {
      if (name === "classifier.bias" || name.endsWith("attention.self.key.bias")) continue;
      const want = v.dataSync();
      const got = b.params.get(name)!.dataSync();
      let err = 0;
      for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i]! - want[i]!));
      expect(err, name).toBeLessThan(2e-4);
    }
    optimizer.dispose();
    await engine.close();
    disposeParams(a.params);
    disposeParams(b.params);
  });
});

describe("OnnxBertEngine's inputs", () => {
  it("names a sequence longer than max_position_embeddings", async () => {
    const config = tinyConfig({ max_position_embeddings: 8 });
    const model: BertModel = { config, tokenizer, params: initParams(bertParamSpecs(config), 1) };
    const engine = await OnnxBertEngine.fromModel(model, { threads: 1 });
    await expect(engine.forward(tokenizer.encodeBatch(TEXTS, 12))).rejects.toThrow(/exceeds max_position_embeddings 8/);
    await engine.close();
    disposeParams(model.params);
  });
});
