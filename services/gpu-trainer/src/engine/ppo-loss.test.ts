import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import type { Gpt2Model } from "../io/gpt2-dir.ts";
import { gpt2ParamSpecs, Gpt2ConfigSchema } from "../models/gpt2.ts";
import { disposeParams, initParams } from "../models/params.ts";
import { packBatch } from "../ppo/batch.ts";
import { PpoConfigSchema } from "../ppo/config.ts";
import { policyOutputs } from "../ppo/forward.ts";
import { vocabFromTokens } from "../tokenizer/vocab.ts";
import { WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { seededRandom } from "../util/random.ts";
import { OnnxGpt2Engine } from "./gpt2-engine.ts";
import { nextTokenTargets, packedAsBatch, ppoLossGrad, type PpoMinibatchData } from "./ppo-loss.ts";
import { expectGradientsMatch } from "./gradient-check.test-helper.ts";

const TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ..."好差很不错垃圾喜欢失望，。！这电影".split("")];
const tokenizer = new WordPieceTokenizer(vocabFromTokens(TOKENS, "tiny"));
const config = Gpt2ConfigSchema.parse({ vocab_size: TOKENS.length, n_positions: 16, n_embd: 16, n_layer: 2, n_head: 2 });

beforeAll(async () => {
  await selectBackend("wasm");
});

describe("PPO's loss on the onnxruntime engine", () => {
  it("gives tfjs's loss and gradients for every parameter, value head included, with clipped and unclipped tokens", async () => {
    const model: Gpt2Model = { config, tokenizer, params: initParams(gpt2ParamSpecs(config, true), 4, 0.2), hasValueHead: true };
    const packed = packBatch(
      [
        [2, 5, 6],
        [2, 7],
        [2, 8, 9, 10],
      ],
      [
        [11, 12, 3],
        [13, 14, 15, 16],
        [17, 3],
      ],
      0,
    );
    const current = tf.tidy(() => {
      const out = policyOutputs(model.params, config, packed);
      return { logprobs: out.logprobs.arraySync(), values: out.values!.arraySync() };
    });
    // Old log-probabilities off the current ones by up to ±0.5, so ratios land on both sides of the clip
    // range; old values and returns in turn (by position) so that each branch of the value loss is taken:
    // clipped value farther from the return and outside the range (no gradient), unclipped, and a tie.
    const random = seededRandom(3);
    const valueCases = [
      [1, 0.3],
      [0.1, -0.5],
      [-1, 0.5],
      [1, 2],
    ] as const;
    const data: PpoMinibatchData = {
      mask: packed.responseMask,
      oldLogprobs: current.logprobs.map((row) => row.map((v) => v + (random() - 0.5))),
      oldValues: current.values.map((row) => row.map((v, t) => v + valueCases[t % 4]![0])),
      advantages: current.logprobs.map((row) => row.map(() => random() * 2 - 1)),
      returns: current.values.map((row) => row.map((v, t) => v + valueCases[t % 4]![1])),
    };
    const cfg = PpoConfigSchema.parse({});

    // tfjs: PpoTrainer.minibatchUpdate's loss, op for op.
    const variables = [...model.params.values()];
    const names = new Map(variables.map((v) => [v.name, [...model.params].find(([, p]) => p === v)![0]]));
    const { value, grads } = tf.variableGrads(() => {
      const M = tf.tensor2d(data.mask);
      const mmean = (x: tf.Tensor) => tf.div(tf.sum(tf.mul(x, M)), tf.sum(M));
      const out = policyOutputs(model.params, config, packed);
      const ratio = tf.exp(tf.sub(out.logprobs, tf.tensor2d(data.oldLogprobs)));
      const adv = tf.tensor2d(data.advantages);
      const pg = mmean(tf.maximum(tf.mul(tf.neg(adv), ratio), tf.mul(tf.neg(adv), tf.clipByValue(ratio, 1 - cfg.clipRange, 1 + cfg.clipRange))));
      const oldV = tf.tensor2d(data.oldValues);
      const ret = tf.tensor2d(data.returns);
      const vClipped = tf.add(oldV, tf.clipByValue(tf.sub(out.values!, oldV), -cfg.clipRangeValue, cfg.clipRangeValue));
      const vf = tf.mul(0.5, mmean(tf.maximum(tf.square(tf.sub(out.values!, ret)), tf.square(tf.sub(vClipped, ret)))));
      return tf.add(pg, tf.mul(cfg.vfCoef, vf)) as tf.Scalar;
    }, variables);
    const wantLoss = value.dataSync()[0]!;

    const engine = await OnnxGpt2Engine.fromModel(model, { threads: 1 });
    const fwd = await engine.forward(packedAsBatch(packed), nextTokenTargets(packed));
    const got = ppoLossGrad(fwd.targetLogprobs, fwd.values!, packed.length, data, cfg);
    expect(got.clipFraction).toBeGreaterThan(0);
    expect(got.clipFraction).toBeLessThan(1);
    expect(Math.abs(got.loss - wantLoss)).toBeLessThan(1e-5);
    const gotGrads = await engine.backward(fwd, got.dLogprobs, got.dValues);
    expectGradientsMatch(grads, names, gotGrads);
    tf.dispose([value, ...Object.values(grads)]);
    await engine.close();
    disposeParams(model.params);
  });
});
