import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { rankLoss } from "./rank-loss.ts";

describe("rankLoss", () => {
  it("is −log σ(r_b − r_w) averaged over pairs (by hand)", () => {
    const rewards = tf.tensor1d([2, 0, -1]);
    // Pairs (0,1): d=2, (0,2): d=3, (1,2): d=1.
    const expected = [2, 3, 1].map((d) => -Math.log(1 / (1 + Math.exp(-d)))).reduce((a, b) => a + b) / 3;
    expect(rankLoss(rewards, Int32Array.from([0, 0, 1]), Int32Array.from([1, 2, 2])).dataSync()[0]).toBeCloseTo(expected, 5);
  });
  it("weights each pair by its rater's reliability when weights are given", () => {
    const rewards = tf.tensor1d([2, 0, -1]);
    const loss = (d: number) => -Math.log(1 / (1 + Math.exp(-d)));
    const expected = (1 * loss(2) + 0.5 * loss(3) + 0.1 * loss(1)) / 1.6;
    expect(rankLoss(rewards, Int32Array.from([0, 0, 1]), Int32Array.from([1, 2, 2]), Float32Array.from([1, 0.5, 0.1])).dataSync()[0]).toBeCloseTo(expected, 5);
  });
  it("is log 2 when the two rewards are equal", () => {
    expect(rankLoss(tf.tensor1d([1, 1]), Int32Array.from([0]), Int32Array.from([1])).dataSync()[0]).toBeCloseTo(Math.log(2), 6);
  });
});
