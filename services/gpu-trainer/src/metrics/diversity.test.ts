import { describe, expect, it } from "vitest";
import { distinct2, distinctN, meanChars } from "./diversity.ts";

describe("distinct-n", () => {
  it("counts distinct character n-grams over all n-grams of the set", () => {
    expect(distinct2(["很好很好"])).toBeCloseTo(2 / 3); // 很好, 好很, 很好
    expect(distinct2(["很好", "很好"])).toBe(0.5);
    expect(distinct2(["很好", "不错"])).toBe(1);
    expect(distinctN(["abc"], 1)).toBe(1);
  });
  it("is 0 for a set without a bigram, and counts astral characters as one", () => {
    expect(distinct2(["", "a"])).toBe(0);
    expect(distinct2(["😀😀😀"])).toBe(0.5);
    expect(meanChars(["😀a", "abc"])).toBe(2.5);
  });
});
