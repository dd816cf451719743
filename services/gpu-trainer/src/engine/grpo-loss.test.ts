import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { gpt2ParamSpecs, Gpt2ConfigSchema } from "../models/gpt2.ts";
import { disposeParams, initParams } from "../models/params.ts";
import { packBatch } from "../ppo/batch.ts";
import { policyOutputs } from "../ppo/forward.ts";
import { seededRandom } from "../util/random.ts";
import { OnnxGpt2Engine } from "./gpt2-engine.ts";
import { groupAdvantages, grpoLossGrad, meanGroupStd } from "./grpo-loss.ts";
import { nextTokenTargets, packedAsBatch } from "./ppo-loss.ts";
import { expectGradientsMatch } from "./gradient-check.test-helper.ts";

describe("GRPO's advantages", () => {
  it("normalise within each group, or take the leave-one-out baseline (RLOO)", () => {
    const scores = [1, 0, 0.5, 0.5, 0.2, 0.2, 0.2, 0.2];
    // Group 1: mean 0.5, unbiased std √(0.5/3) = 0.408248; group 2: all equal, advantage 0.
    const std = Math.sqrt(0.5 / 3);
    const group = groupAdvantages(scores, 4, "group");
    [0.5, -0.5, 0, 0].forEach((d, i) => expect(group[i]).toBeCloseTo(d / (std + 1e-4), 10));
    expect(group.slice(4)).toEqual([0, 0, 0, 0]);
    expect(groupAdvantages(scores, 4, "group", false).slice(0, 2)).toEqual([0.5, -0.5]);
    // RLOO: 1 − (0 + 0.5 + 0.5)/3 = 2/3; 0 − 2/3; 0.5 − 1.5/3 = 0.
    const rloo = groupAdvantages(scores, 4, "rloo");
    [2 / 3, -2 / 3, 0, 0, 0, 0, 0, 0].forEach((want, i) => expect(rloo[i]).toBeCloseTo(want, 12));
    expect(meanGroupStd(scores, 4)).toBeCloseTo(std / 2, 12);
    expect(() => groupAdvantages([1, 2, 3], 2, "group")).toThrow(/not groups of 2/);
  });
});

describe("GRPO's loss on the onnxruntime engine", () => {
  beforeAll(async () => {
    await selectBackend("wasm");
  });

  it("gives tfjs's loss and gradient for every parameter, with clipped and unclipped tokens and the k3 KL", async () => {
    const config = Gpt2ConfigSchema.parse({ vocab_size: 20, n_positions: 16, n_embd: 16, n_layer: 2, n_head: 2 });
    const params = initParams(gpt2ParamSpecs(config, false), 9, 0.2);
    const packed = packBatch(
      [
        [2, 5],
        [2, 5],
        [2, 6, 7],
        [2, 6, 7],
      ],
      [
        [8, 9, 3],
        [10, 3],
        [11, 12, 13, 14],
        [15, 3],
      ],
      0,
    );
    const current = tf.tidy(() => policyOutputs(params, config, packed).logprobs.arraySync());
    // Old and reference log-probabilities off the current ones by up to ±0.5: ratios on both sides of the clip range.
    const random = seededRandom(5);
    const data = {
      mask: packed.responseMask,
      oldLogprobs: current.map((row) => row.map((v) => v + (random() - 0.5))),
      refLogprobs: current.map((row) => row.map((v) => v + (random() - 0.5))),
      advantages: [1.2, -0.7, 0.4, -1.5],
    };
    const cfg = { clipRange: 0.1, beta: 0.3 };

    // tfjs: the same loss written with tensors (trl's per-token loss, token mean), differentiated by tfjs.
    const variables = [...params.values()];
    const names = new Map(variables.map((v) => [v.name, [...params].find(([, p]) => p === v)![0]]));
    const { value, grads } = tf.variableGrads(() => {
      const M = tf.tensor2d(data.mask);
      const lp = policyOutputs(params, config, packed).logprobs;
      const ratio = tf.exp(tf.sub(lp, tf.tensor2d(data.oldLogprobs)));
      const A = tf.tensor2d(data.advantages, [4, 1]);
      const surrogate = tf.minimum(tf.mul(ratio, A), tf.mul(tf.clipByValue(ratio, 1 - cfg.clipRange, 1 + cfg.clipRange), A));
      const delta = tf.sub(tf.tensor2d(data.refLogprobs), lp);
      const k3 = tf.sub(tf.sub(tf.exp(delta), delta), 1);
      const perToken = tf.add(tf.neg(surrogate), tf.mul(cfg.beta, k3));
      return tf.div(tf.sum(tf.mul(perToken, M)), tf.sum(M)) as tf.Scalar;
    }, variables);

    const engine = await OnnxGpt2Engine.create(config, new Map([...params].map(([n, v]) => [n, Float32Array.from(v.dataSync())])), false, { threads: 1 });
    const fwd = await engine.forward(packedAsBatch(packed), nextTokenTargets(packed));
    const got = grpoLossGrad(fwd.targetLogprobs, packed.length, data, cfg);
    expect(got.clipRatio).toBeGreaterThan(0);
    expect(got.clipRatio).toBeLessThan(1);
    expect(got.kl).toBeGreaterThan(0);
    expect(Math.abs(got.loss - value.dataSync()[0]!)).toBeLessThan(1e-5);
    const gotGrads = await engine.backward(fwd, got.dLogprobs);
    expectGradientsMatch(grads, names, gotGrads);
    tf.dispose([value, ...Object.values(grads)]);
    await engine.close();
    disposeParams(params);
  });
});
