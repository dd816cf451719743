import { describe, expect, it } from "vitest";
import { seededRandom } from "../util/random.ts";
import type { PreferenceExample } from "./examples.ts";
import { raterReliability, reliabilityWeight } from "./reliability.ts";

/** Raters ranking the same groups of 4, whose true order is by id; `noise` is each rater's share of random answers. */
function crowd(noise: Record<number, number>, groups = 60, seed = 1): PreferenceExample[] {
  const random = seededRandom(seed);
  const out: PreferenceExample[] = [];
  for (let g = 0; g < groups; g++) {
    const ids = [4 * g + 1, 4 * g + 2, 4 * g + 3, 4 * g + 4];
    for (const [rater, share] of Object.entries(noise)) {
      const order = random() < share ? [...ids].sort(() => random() - 0.5) : ids;
      out.push({ group: ids.join(","), promptId: g, prompt: "p", raterId: Number(rater), source: "ranking", rankingIds: [], scoreIds: [], completionIds: order, texts: order.map((i) => `t${i}`), levels: [0, 1, 2, 3] });
    }
  }
  return out;
}

describe("rater reliability (one-coin Dawid–Skene over pairs)", () => {
  it("ranks a careless rater below careful ones and weights them less", () => {
    const r = raterReliability(crowd({ 1: 0, 2: 0.05, 3: 0.5 }));
    expect(r.get(1)!.accuracy).toBeGreaterThan(0.95);
    expect(r.get(2)!.accuracy).toBeGreaterThan(0.9);
    expect(r.get(3)!.accuracy).toBeLessThan(0.85);
    expect(r.get(3)!.weight).toBeLessThan(r.get(1)!.weight);
    expect(r.get(1)!.sharedJudgements).toBe(60 * 6);
  });
  it("leaves a rater nobody else overlaps with at the prior, and never weights anyone at zero", () => {
    const alone = crowd({ 7: 0 }, 5);
    expect(raterReliability(alone).get(7)).toEqual({ accuracy: 0.8, sharedJudgements: 0, weight: expect.closeTo(0.6, 10) });
    expect(reliabilityWeight(0.3)).toBe(0.1);
    expect(reliabilityWeight(1)).toBe(1);
  });
});
