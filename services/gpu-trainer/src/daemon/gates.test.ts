import { describe, expect, it } from "vitest";
import { improvementGate, pairedImprovement, policyGate, rewardGate } from "./gates.ts";

const options = { tolerance: 0, firstModelMinAccuracy: 0.55 };

describe("the reward model's gate", () => {
  it("activates a candidate that is at least as good as the active model on the same pairs", () => {
    expect(rewardGate({ accuracy: 0.8, pairs: 60 }, { accuracy: 0.8, pairs: 60 }, options)).toEqual({ activate: true });
    expect(rewardGate({ accuracy: 0.81, pairs: 60 }, { accuracy: 0.8, pairs: 60 }, options)).toEqual({ activate: true });
  });
  it("rejects a worse candidate and says by how much", () => {
    const v = rewardGate({ accuracy: 0.03, pairs: 60 }, { accuracy: 0.84, pairs: 60 }, options);
    expect(v).toEqual({ activate: false, reason: expect.stringContaining("0.0300 < the active model's 0.8400 on the same 60 pairs") });
    expect(rewardGate({ accuracy: 0.78, pairs: 60 }, { accuracy: 0.8, pairs: 60 }, { ...options, tolerance: 0.05 }).activate).toBe(true);
  });
  it("asks the first model to beat chance", () => {
    expect(rewardGate({ accuracy: 0.5, pairs: 30 }, undefined, options).activate).toBe(false);
    expect(rewardGate({ accuracy: 0.7, pairs: 30 }, undefined, options).activate).toBe(true);
  });
  it("refuses to compare figures from different held-out sets", () => {
    expect(() => rewardGate({ accuracy: 0.9, pairs: 30 }, { accuracy: 0.8, pairs: 31 }, options)).toThrow(/share the held-out set/);
  });
});

describe("the policy's gate", () => {
  const budget = { klBudget: 8, minDistinct2Share: 0.8 };
  it("passes a policy within the KL budget that keeps its diversity", () => {
    expect(policyGate({ klToReference: 3, distinct2: 0.45, referenceDistinct2: 0.5 }, budget)).toEqual({ activate: true });
  });
  it("rejects a policy past the KL budget, or collapsing onto few sentences", () => {
    expect(policyGate({ klToReference: 13.1, distinct2: 0.5, referenceDistinct2: 0.5 }, budget)).toEqual({
      activate: false,
      reason: expect.stringContaining("over the budget 8"),
    });
    expect(policyGate({ klToReference: 2, distinct2: 0.16, referenceDistinct2: 0.49 }, budget)).toEqual({
      activate: false,
      reason: expect.stringContaining("distinct-2 0.160 is below 0.8"),
    });
    expect(policyGate({ klToReference: Number.NaN, distinct2: 0.5, referenceDistinct2: 0.5 }, budget).activate).toBe(false);
  });
});

describe("the policy's improvement gate", () => {
  const z = { minImprovementZ: 1.645 };
  it("measures the paired difference and its standard error", () => {
    const f = pairedImprovement([1, 2, 3, 4], [0, 2, 2, 2]);
    expect(f.meanDifference).toBeCloseTo(1, 12);
    // Differences 1, 0, 1, 2: sample sd √(2/3), SE = sd / √4.
    expect(f.standardError).toBeCloseTo(Math.sqrt(2 / 3) / 2, 12);
    expect(f).toMatchObject({ samples: 4, candidateMean: 2.5, activeMean: 1.5 });
  });
  it("activates a candidate better by more than z standard errors", () => {
    // Difference 1 with SE ≈ 0.41: 2.4 standard errors.
    expect(improvementGate(pairedImprovement([1, 2, 3, 4], [0, 2, 2, 2]), z)).toEqual({ activate: true });
  });
  it("rejects a candidate whose gain the samples cannot tell from noise, with the figures", () => {
    const noisy = pairedImprovement([3, 0, 3, 0.4], [0, 2, 1, 2]);
    expect(noisy.meanDifference).toBeGreaterThan(0);
    expect(improvementGate(noisy, z)).toEqual({
      activate: false,
      reason: expect.stringMatching(
        /not better than the active policy: mean reward 1\.600 vs 1\.250 on the same 4 prompts and seed, difference 0\.350 ≤ 1\.645 × its standard error/,
      ),
    });
  });
  it("rejects a worse or equal candidate even with z = 0", () => {
    expect(improvementGate(pairedImprovement([1, 1, 1], [1, 1, 1]), { minImprovementZ: 0 }).activate).toBe(false);
    expect(improvementGate(pairedImprovement([0, 1, 0], [1, 1, 1]), { minImprovementZ: 0 }).activate).toBe(false);
    expect(improvementGate(pairedImprovement([1.1, 1, 1], [1, 1, 1]), { minImprovementZ: 0 }).activate).toBe(true);
  });
  it("refuses unpaired figures", () => {
    expect(() => pairedImprovement([1, 2], [1])).toThrow(/paired/);
  });
});
