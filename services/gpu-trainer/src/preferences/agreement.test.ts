import { describe, expect, it } from "vitest";
import type { PreferenceExample } from "./examples.ts";
import { agreementOf } from "./agreement.ts";

const example = (raterId: number, ids: number[], levels: number[]): PreferenceExample => ({
  group: "1,2,3",
  promptId: 1,
  prompt: "p",
  raterId,
  source: "ranking",
  rankingIds: [raterId],
  scoreIds: [],
  completionIds: ids,
  texts: ids.map((i) => `t${i}`),
  levels,
});

describe("agreement on held-out labels", () => {
  it("gives the model's accuracy per rater, and rater–rater beside model–rater on the pairs both raters ordered", () => {
    // Rater 1: 1 > 2 > 3. Rater 2: 1 > 3 > 2 (disagrees on 2 vs 3). Rater 3: 1 = 2 > 3 (orders 2 pairs).
    const examples = [example(1, [1, 2, 3], [0, 1, 2]), example(2, [1, 3, 2], [0, 1, 2]), example(3, [1, 2, 3], [0, 0, 1])];
    // The model: 1 > 2 > 3, as rater 1.
    const rewards: Record<number, number> = { 1: 3, 2: 2, 3: 1 };
    const scores = examples.map((e) => e.completionIds.map((id) => rewards[id]!));
    const a = agreementOf(examples, scores);
    expect(a.modelByRater.get(1)).toEqual({ accuracy: 1, pairs: 3 });
    expect(a.modelByRater.get(2)).toEqual({ accuracy: 2 / 3, pairs: 3 });
    expect(a.modelByRater.get(3)).toEqual({ accuracy: 1, pairs: 2 });
    // Shared pairs: (1,2) r1r2 +, (1,3) r1r2 +, (2,3) r1r2 −; r1r3: (1,3) +, (2,3) +; r2r3: (1,3) +, (2,3) −.
    expect(a.raterRater).toEqual({ tau: (5 - 2) / 7, pairs: 7 });
    // The model against each rater of each shared pair: 14 judgements; the 2 where rater 2 put 3 above 2 disagree with it.
    expect(a.modelRater).toEqual({ tau: (12 - 2) / 14, pairs: 14 });
  });
  it("is NaN where nothing was shared", () => {
    const a = agreementOf([example(1, [1, 2], [0, 1])], [[1, 0]]);
    expect(a.raterRater.pairs).toBe(0);
    expect(Number.isNaN(a.raterRater.tau)).toBe(true);
  });
});
