import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { gpt2ParamSpecs, Gpt2ConfigSchema } from "../models/gpt2.ts";
import { disposeParams, initParams } from "../models/params.ts";
import { packBatch } from "../ppo/batch.ts";
import { policyOutputs } from "../ppo/forward.ts";
import { dpoLossGrad, dpoMetrics, perTokenGradient, sequenceLogprobs } from "./dpo-loss.ts";
import { OnnxGpt2Engine } from "./gpt2-engine.ts";
import { nextTokenTargets, packedAsBatch } from "./ppo-loss.ts";
import { expectGradientsMatch } from "./gradient-check.test-helper.ts";

// A fixed batch of three pairs' sequence log-probabilities (policy and reference).
const PAIRS = {
  policyChosen: [-12.5, -30.25, -7],
  policyRejected: [-14, -29.5, -7.5],
  referenceChosen: [-13, -30, -6],
  referenceRejected: [-13.5, -30, -8],
};
const BETA = 0.1;

describe("DPO's loss", () => {
  it("equals −log σ(β·((log π_c − log π_ref,c) − (log π_r − log π_ref,r))) on a fixed batch, to 1e-6", () => {
    // By hand: z = (0.5 − (−0.5)), (−0.25 − 0.5), (−1 − 0.5) = 1, −0.75, −1.5; β·z = 0.1, −0.075, −0.15.
    const want = [0.1, -0.075, -0.15].map((x) => Math.log(1 + Math.exp(-x)));
    const got = dpoLossGrad(PAIRS, BETA);
    expect(Math.abs(got.loss - (want[0]! + want[1]! + want[2]!) / 3)).toBeLessThan(1e-6);
    expect(Math.abs(got.loss - 0.71556795)).toBeLessThan(1e-6);
    // Weighted: Σ w·l / Σ w.
    const weighted = dpoLossGrad({ ...PAIRS, weights: [1, 0.1, 0.5] }, BETA);
    expect(Math.abs(weighted.loss - (want[0]! + 0.1 * want[1]! + 0.5 * want[2]!) / 1.6)).toBeLessThan(1e-6);
    // trl's metrics: implicit rewards β·(log π − log π_ref), unweighted means over pairs.
    expect(dpoMetrics(got)).toEqual({
      loss: got.loss,
      "rewards/chosen": expect.closeTo((0.05 - 0.025 - 0.1) / 3, 12),
      "rewards/rejected": expect.closeTo((-0.05 + 0.05 + 0.05) / 3, 12),
      "rewards/accuracies": expect.closeTo(1 / 3, 12),
      "rewards/margins": expect.closeTo((0.1 - 0.075 - 0.15) / 3, 12),
      "logps/chosen": expect.closeTo((-12.5 - 30.25 - 7) / 3, 12),
      "logps/rejected": expect.closeTo((-14 - 29.5 - 7.5) / 3, 12),
    });
  });

  it("has the gradient finite differences give, per sequence and with weights", () => {
    const weights = [1, 0.1, 0.5];
    const got = dpoLossGrad({ ...PAIRS, weights }, BETA);
    const h = 1e-4;
    for (const side of ["policyChosen", "policyRejected"] as const) {
      for (let i = 0; i < 3; i++) {
        const bump = (d: number) => dpoLossGrad({ ...PAIRS, weights, [side]: PAIRS[side].map((v, j) => (j === i ? v + d : v)) }, BETA).loss;
        const numeric = (bump(h) - bump(-h)) / (2 * h);
        const analytic = side === "policyChosen" ? got.dChosen[i]! : got.dRejected[i]!;
        expect(Math.abs(numeric - analytic), `${side}[${i}]`).toBeLessThan(1e-8);
      }
    }
    // −log σ stays finite far out (a policy far from its reference).
    expect(Number.isFinite(dpoLossGrad({ ...PAIRS, policyChosen: [-1e4, 0, 0] }, 1).loss)).toBe(true);
  });

  it("sums a sequence's response-token log-probabilities and spreads its gradient back onto them", () => {
    const mask = [
      [0, 1, 1, 0],
      [1, 1, 1, 1],
    ];
    const lp = Float32Array.from([-1, -2, -3, -4, -5, -0.5, -0.25, -1, -9, -9]);
    expect(sequenceLogprobs(lp, mask, 5)).toEqual([-5, -10.75]);
    expect([...perTokenGradient([0.5, -2], mask, 5)]).toEqual([0, 0.5, 0.5, 0, 0, -2, -2, -2, -2, 0]);
  });
});

describe("DPO on the onnxruntime engine", () => {
  beforeAll(async () => {
    await selectBackend("wasm");
  });

  it("gives tfjs's gradient of the DPO loss for every parameter (a direct computation through the model)", async () => {
    const config = Gpt2ConfigSchema.parse({ vocab_size: 20, n_positions: 16, n_embd: 16, n_layer: 2, n_head: 2 });
    const params = initParams(gpt2ParamSpecs(config, false), 7, 0.2);
    // Two pairs, chosen rows first: an empty prompt ([CLS] only) and a longer one; completions of different lengths.
    const queries = [[2], [2, 5, 6], [2], [2, 5, 6]];
    const responses = [
      [7, 8, 3],
      [9, 3],
      [10, 11, 12, 3],
      [13, 14, 15],
    ];
    const packed = packBatch(queries, responses, 0);
    const reference = { referenceChosen: [-9, -6], referenceRejected: [-11, -8] };
    const weights = [1, 0.4];
    const beta = 0.5;

    const variables = [...params.values()];
    const names = new Map(variables.map((v) => [v.name, [...params].find(([, p]) => p === v)![0]]));
    const { value, grads } = tf.variableGrads(() => {
      const out = policyOutputs(params, config, packed);
      const seq = tf.sum(tf.mul(out.logprobs, tf.tensor2d(packed.responseMask)), 1); // [4]
      const chosen = tf.sub(tf.slice(seq, 0, 2), tf.tensor1d(reference.referenceChosen));
      const rejected = tf.sub(tf.slice(seq, 2, 2), tf.tensor1d(reference.referenceRejected));
      const losses = tf.softplus(tf.neg(tf.mul(beta, tf.sub(chosen, rejected))));
      const w = tf.tensor1d(weights);
      return tf.div(tf.sum(tf.mul(losses, w)), tf.sum(w)) as tf.Scalar;
    }, variables);

    const engine = await OnnxGpt2Engine.create(config, new Map([...params].map(([n, v]) => [n, Float32Array.from(v.dataSync())])), false, { threads: 1 });
    const fwd = await engine.forward(packedAsBatch(packed), nextTokenTargets(packed));
    const seq = sequenceLogprobs(fwd.targetLogprobs, packed.responseMask, packed.length);
    const loss = dpoLossGrad({ policyChosen: seq.slice(0, 2), policyRejected: seq.slice(2), ...reference, weights }, beta);
    expect(Math.abs(loss.loss - value.dataSync()[0]!)).toBeLessThan(1e-5);
    const got = await engine.backward(fwd, perTokenGradient([...loss.dChosen, ...loss.dRejected], packed.responseMask, packed.length));
    expectGradientsMatch(grads, names, got);
    tf.dispose([value, ...Object.values(grads)]);
    await engine.close();
    disposeParams(params);
  });
});
