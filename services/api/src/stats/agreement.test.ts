import { describe, expect, it } from "vitest";
import { absoluteDifference, kendallTau, pairwiseAgreement } from "./agreement.ts";

describe("kendallTau", () => {
  it("is 1 for the same order and -1 for the reverse", () => {
    expect(kendallTau([1, 2, 3, 4], [1, 2, 3, 4])).toBe(1);
    expect(kendallTau([1, 2, 3, 4], [4, 3, 2, 1])).toBe(-1);
  });
  it("counts concordant minus discordant pairs over all pairs (by hand)", () => {
    // Pairs of [1,2,3] vs [1,3,2]: (1,2) agree, (1,3) agree, (2,3) swapped → (2-1)/3.
    expect(kendallTau([1, 2, 3], [1, 3, 2])).toBeCloseTo(1 / 3, 12);
    // [a,b,c,d] vs [b,a,d,c]: 2 of 6 pairs swapped → (4-2)/6.
    expect(kendallTau([10, 20, 30, 40], [20, 10, 40, 30])).toBeCloseTo(1 / 3, 12);
  });
  it("is tau-b with ties: a pair tied by either rater counts for neither side (by hand)", () => {
    // a: 1 = 2 > 3; b: 1 > 2 > 3. Pairs: (1,2) tied in a; (1,3), (2,3) concordant.
    // C − D = 2; n₀ = 3, ties in a = 1, in b = 0 → 2 / √(2·3).
    expect(kendallTau([1, 2, 3], [1, 2, 3], [0, 0, 1], [0, 1, 2])).toBeCloseTo(2 / Math.sqrt(6), 12);
    // The same ties on both sides agree completely.
    expect(kendallTau([1, 2, 3, 4], [2, 1, 4, 3], [0, 0, 1, 1], [0, 0, 1, 1])).toBe(1);
    // One rater tying everything leaves nothing to agree on.
    expect(kendallTau([1, 2], [1, 2], [0, 0], [0, 1])).toBeNaN();
  });
  it("refuses orders of different items", () => {
    expect(() => kendallTau([1, 2], [1, 3])).toThrow(/different items/);
    expect(() => kendallTau([1], [1])).toThrow(/≥2 items/);
  });
});

describe("pairwiseAgreement", () => {
  it("averages absolute differences over rater pairs on shared items", () => {
    const result = pairwiseAgreement(
      [
        { raterId: 1, item: "c1", value: 1 },
        { raterId: 2, item: "c1", value: 0.5 },
        { raterId: 3, item: "c1", value: 0.75 },
        { raterId: 1, item: "c2", value: 0 }, // labeled once: not compared
      ],
      absoluteDifference,
    );
    // Pairs on c1: |1-.5|=.5, |1-.75|=.25, |.5-.75|=.25 → mean 1/3.
    expect(result.items).toBe(1);
    expect(result.pairs).toBe(3);
    expect(result.mean).toBeCloseTo(1 / 3, 12);
    expect(result.perRater.get(1)).toEqual({ pairs: 2, mean: 0.375 });
    expect(result.perRater.get(2)).toEqual({ pairs: 2, mean: 0.375 });
    expect(result.perRater.get(3)).toEqual({ pairs: 2, mean: 0.25 });
  });
  it("leaves out a pair whose statistic is not a number, and an item with no pair left", () => {
    const result = pairwiseAgreement(
      [
        { raterId: 1, item: "g", value: 1 },
        { raterId: 2, item: "g", value: Number.NaN },
      ],
      (a, b) => a + b,
    );
    expect(result).toMatchObject({ items: 0, pairs: 0, mean: null });
  });
  it("has no mean when nothing is shared", () => {
    const result = pairwiseAgreement([{ raterId: 1, item: "x", value: 1 }], absoluteDifference);
    expect(result).toMatchObject({ items: 0, pairs: 0, mean: null });
  });
});
