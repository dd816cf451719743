import { describe, expect, it } from "vitest";
import { gae, maskedMean, maskedVar, maskedWhiten, tokenRewards } from "./advantages.ts";
import { adaptiveKl, fixedKl } from "./kl-controller.ts";

describe("PPO arithmetic (hand-computed)", () => {
  const mask = [
    [1, 1, 0],
    [1, 1, 1],
  ];

  it("maskedMean ignores masked entries", () => {
    // (1 + 2 + 4 + 5 + 6) / 5
    expect(
      maskedMean(
        [
          [1, 2, 100],
          [4, 5, 6],
        ],
        mask,
      ),
    ).toBeCloseTo(3.6, 10);
  });

  it("maskedVar is the unbiased variance of the masked entries", () => {
    // values 1,2,4,5,6: mean 3.6, squared deviations 6.76+2.56+0.16+1.96+5.76 = 17.2; /4 = 4.3
    expect(
      maskedVar(
        [
          [1, 2, 100],
          [4, 5, 6],
        ],
        mask,
      ),
    ).toBeCloseTo(4.3, 10);
    expect(
      maskedVar(
        [
          [1, 2, 100],
          [4, 5, 6],
        ],
        mask,
        false,
      ),
    ).toBeCloseTo(17.2 / 5, 10);
  });

  it("maskedWhiten gives the masked entries mean 0 and unbiased variance 1", () => {
    const w = maskedWhiten(
      [
        [1, 2, 100],
        [4, 5, 6],
      ],
      mask,
    );
    expect(maskedMean(w, mask)).toBeCloseTo(0, 6);
    expect(maskedVar(w, mask)).toBeCloseTo(1, 4);
    expect(w[0]![0]).toBeCloseTo((1 - 3.6) / Math.sqrt(4.3), 6);
  });

  it("tokenRewards puts −β·KL on each token and the score on the last real one", () => {
    const { rewards, penalties } = tokenRewards(
      [1, -1],
      [
        [-1, -2, 0],
        [-1, -1, -1],
      ],
      [
        [-1.5, -2, 0],
        [-1, -0.5, -1],
      ],
      mask,
      0.1,
    );
    expect(penalties[0]).toEqual([-0.05, -0, 0]);
    expect(rewards[0]![0]).toBeCloseTo(-0.05, 10);
    expect(rewards[0]![1]).toBeCloseTo(1, 10); // 0 penalty + score 1 on the last real token
    expect(rewards[0]![2]).toBe(0);
    expect(rewards[1]![1]).toBeCloseTo(0.05, 10);
    expect(rewards[1]![2]).toBeCloseTo(-1, 10);
  });

  it("gae matches a by-hand recursion (γ = 1, λ = 0.95) and returns = advantages + values", () => {
    // One row, three tokens: r = [0, 0, 1], V = [0.5, 0.6, 0.7].
    // δ2 = 1 − 0.7 = 0.3; A2 = 0.3
    // δ1 = 0 + 0.7 − 0.6 = 0.1; A1 = 0.1 + 0.95·0.3 = 0.385
    // δ0 = 0 + 0.6 − 0.5 = 0.1; A0 = 0.1 + 0.95·0.385 = 0.46575
    const { returns, advantages } = gae(
      [
        [0, 0, 1],
        [0, 0, 1],
      ],
      [
        [0.5, 0.6, 0.7],
        [0.5, 0.6, 0.7],
      ],
      [
        [1, 1, 1],
        [1, 1, 1],
      ],
      1,
      0.95,
    );
    expect(returns[0]![0]).toBeCloseTo(0.46575 + 0.5, 10);
    expect(returns[0]![1]).toBeCloseTo(0.385 + 0.6, 10);
    expect(returns[0]![2]).toBeCloseTo(0.3 + 0.7, 10);
    expect(
      maskedMean(advantages, [
        [1, 1, 1],
        [1, 1, 1],
      ]),
    ).toBeCloseTo(0, 6);
  });

  it("gae stops at the end of a shorter response", () => {
    // Row ends after token 1: δ1 = 1 − 0.6 (no next value); A1 = 0.4; A0 = (0.6 − 0.5) + 0.95·0.4 = 0.48.
    const { returns } = gae([[0, 1, 0]], [[0.5, 0.6, 9]], [[1, 1, 0]], 1, 0.95);
    expect(returns[0]![1]).toBeCloseTo(1, 10);
    expect(returns[0]![0]).toBeCloseTo(0.48 + 0.5, 10);
  });

  it("the adaptive KL controller raises β above target, lowers it below, clipped at ±20%", () => {
    const kl = adaptiveKl(0.2, 6, 10000);
    kl.update(12, 256); // error clipped to +0.2: β·(1 + 0.2·256/10000)
    expect(kl.value).toBeCloseTo(0.2 * (1 + (0.2 * 256) / 10000), 12);
    const low = adaptiveKl(0.2, 6, 10000);
    low.update(3, 100); // error −0.5 → −0.2
    expect(low.value).toBeCloseTo(0.2 * (1 - (0.2 * 100) / 10000), 12);
    const near = adaptiveKl(0.2, 6, 1000);
    near.update(6.6, 100); // error 0.1
    expect(near.value).toBeCloseTo(0.2 * 1.01, 12);
    const fixed = fixedKl(0.05);
    fixed.update(100, 100);
    expect(fixed.value).toBe(0.05);
  });
});
