import { describe, expect, it } from "vitest";
import { seededRandom } from "../util/random.ts";
import type { PreferenceExample } from "./examples.ts";
import { goldPairTruths, raterReliability, reliabilityWeight, type GoldOrder } from "./reliability.ts";

const example = (g: number, ids: number[], rater: number, order: number[]): PreferenceExample => ({
  group: ids.join(","),
  promptId: g,
  prompt: "p",
  raterId: rater,
  source: "ranking",
  rankingIds: [],
  scoreIds: [],
  completionIds: order,
  texts: order.map((i) => `t${i}`),
  levels: order.map((_, i) => i),
});
const idsOf = (g: number) => [4 * g + 1, 4 * g + 2, 4 * g + 3, 4 * g + 4];

/** Raters ranking the same groups of 4, whose true order is by id; `noise` is each rater's share of random answers. */
function crowd(noise: Record<number, number>, groups = 60, seed = 1): PreferenceExample[] {
  const random = seededRandom(seed);
  const out: PreferenceExample[] = [];
  for (let g = 0; g < groups; g++) {
    const ids = idsOf(g);
    for (const [rater, share] of Object.entries(noise)) out.push(example(g, ids, Number(rater), random() < share ? [...ids].sort(() => random() - 0.5) : ids));
  }
  return out;
}

/**
 * Careful raters (`careful`, 5% random answers each) and a bloc of spammers who give one
 * shared random order per group (one copies another): the spammers agree with each other
 * on every pair, so agreement alone cannot tell them from the careful ones.
 */
function crowdWithBloc(careful: number[], bloc: number[], groups = 60, seed = 2): PreferenceExample[] {
  const random = seededRandom(seed);
  const shuffled = (ids: number[]) => {
    const out = [...ids];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  };
  const out: PreferenceExample[] = [];
  for (let g = 0; g < groups; g++) {
    const ids = idsOf(g);
    for (const r of careful) out.push(example(g, ids, r, random() < 0.05 ? shuffled(ids) : ids));
    const spam = shuffled(ids);
    for (const r of bloc) out.push(example(g, ids, r, spam));
  }
  return out;
}

/** Gold orders (the true order, by id) of the first `n` groups. */
const goldOf = (n: number): GoldOrder[] => Array.from({ length: n }, (_, g) => ({ completionIds: idsOf(g), levels: [0, 1, 2, 3] }));

const lowest = (r: Map<number, { accuracy: number }>, k: number) =>
  [...r]
    .sort((a, b) => a[1].accuracy - b[1].accuracy)
    .slice(0, k)
    .map(([id]) => id)
    .sort();

describe("rater reliability (one-coin Dawid–Skene over pairs)", () => {
  it("ranks a careless rater below careful ones and weights them less", () => {
    const r = raterReliability(crowd({ 1: 0, 2: 0.05, 3: 0.5 }));
    expect(r.get(1)!.accuracy).toBeGreaterThan(0.95);
    expect(r.get(2)!.accuracy).toBeGreaterThan(0.9);
    expect(r.get(3)!.accuracy).toBeLessThan(0.85);
    expect(r.get(3)!.weight).toBeLessThan(r.get(1)!.weight);
    expect(r.get(1)!.sharedJudgements).toBe(60 * 6);
    expect(r.get(1)!.goldJudgements).toBe(0);
  });

  it("gives a rater who answers at random the lowest reliability in a crowd of four", () => {
    const r = raterReliability(crowd({ 1: 0.05, 2: 0.1, 3: 0.05, 4: 1 }));
    expect(lowest(r, 1)).toEqual([4]);
    expect(r.get(4)!.accuracy).toBeLessThan(0.7);
  });

  it("leaves a rater nobody else overlaps with at the prior, and never weights anyone at zero", () => {
    const alone = crowd({ 7: 0 }, 5);
    expect(raterReliability(alone).get(7)).toEqual({ accuracy: 0.8, sharedJudgements: 0, goldJudgements: 0, weight: expect.closeTo(0.6, 10) });
    expect(reliabilityWeight(0.3)).toBe(0.1);
    expect(reliabilityWeight(1)).toBe(1);
  });

  it("is fooled by spammers who agree with each other when there is no gold, and finds them with gold groups", () => {
    // Three copying spammers outvote two careful raters: agreement alone trusts the bloc.
    const examples = crowdWithBloc([1, 2], [3, 4, 5]);
    const blind = raterReliability(examples);
    expect(lowest(blind, 2)).toEqual([1, 2]);
    // Gold orders of 10 of the 60 groups (a sixth) turn it round.
    const r = raterReliability(examples, { gold: goldOf(10) });
    expect(lowest(r, 3)).toEqual([3, 4, 5]);
    for (const spammer of [3, 4, 5]) expect(r.get(spammer)!.accuracy).toBeLessThan(0.65);
    for (const careful of [1, 2]) expect(r.get(careful)!.accuracy).toBeGreaterThan(0.9);
    expect(r.get(1)!.goldJudgements).toBe(10 * 6);
    expect(r.get(1)!.sharedJudgements).toBe(60 * 6);
  });

  it("finds a spammer who agrees with one other spammer, beside two careful raters, with gold", () => {
    const examples = crowdWithBloc([1, 2], [3, 4], 60, 5);
    // Two spammers who always agree look better than two careful raters who slip 5% of the time…
    expect(lowest(raterReliability(examples), 2)).toEqual([1, 2]);
    // …until 6 of the 60 groups have a gold order.
    const r = raterReliability(examples, { gold: goldOf(6) });
    expect(lowest(r, 2)).toEqual([3, 4]);
    expect(r.get(3)!.weight).toBeLessThan(r.get(1)!.weight / 2);
  });

  it("counts a rater's judgements of gold pairs even when no one else labeled the group", () => {
    const random = seededRandom(9);
    // Rater 11 alone on groups 0–3 (the true order), rater 12 alone on groups 4–7 (at random); all 8 are gold.
    const careful = [0, 1, 2, 3].map((g) => example(g, idsOf(g), 11, idsOf(g)));
    const spam = [4, 5, 6, 7].map((g) =>
      example(
        g,
        idsOf(g),
        12,
        [...idsOf(g)].sort(() => random() - 0.5),
      ),
    );
    const r = raterReliability([...careful, ...spam], { gold: goldOf(8) });
    expect(raterReliability([...careful, ...spam]).get(11)!.accuracy).toBe(0.8);
    expect(r.get(11)!.goldJudgements).toBe(4 * 6);
    expect(r.get(11)!.accuracy).toBeGreaterThan(0.95);
    expect(r.get(12)!.accuracy).toBeLessThan(r.get(11)!.accuracy - 0.2);
  });

  it("reads gold pairs: ties state no order, and a pair two gold groups order differently is dropped", () => {
    const truths = goldPairTruths([
      { completionIds: [3, 1, 2], levels: [0, 1, 1] },
      { completionIds: [5, 4], levels: [0, 1] },
      { completionIds: [4, 5, 6], levels: [0, 1, 2] },
    ]);
    expect(Object.fromEntries(truths)).toEqual({ "1<3": -1, "2<3": -1, "4<6": 1, "5<6": 1 });
  });
});
