import type { PreferenceExample } from "./examples.ts";

export interface Agreement {
  /** Share of each rater's ordered pairs the model orders the same way, with the pair count. */
  modelByRater: Map<number, { accuracy: number; pairs: number }>;
  /**
   * Kendall-style agreement (concordant − discordant) / (concordant + discordant) over
   * completion pairs two raters both ordered in the same group: how much the raters
   * agree with each other, to read the model's figures against.
   */
  raterRater: { tau: number; pairs: number };
  /** The same statistic between the model and each rater, on those same shared pairs. */
  modelRater: { tau: number; pairs: number };
}

type Ordered = Map<string, number>; // "a<b" completion ids → +1 (a better) or −1 (b better)

/** The completion pairs an example orders, keyed by the two ids in increasing order. */
function orderedPairs(e: PreferenceExample): Ordered {
  const out: Ordered = new Map();
  for (let i = 0; i < e.completionIds.length; i++) {
    for (let j = i + 1; j < e.completionIds.length; j++) {
      if (e.levels[i] === e.levels[j] || e.texts[i] === e.texts[j]) continue;
      const [a, b] = [e.completionIds[i]!, e.completionIds[j]!];
      const aBetter = e.levels[i]! < e.levels[j]!;
      out.set(a < b ? `${a}<${b}` : `${b}<${a}`, a < b === aBetter ? 1 : -1);
    }
  }
  return out;
}

const tau = (c: number, d: number) => (c + d === 0 ? Number.NaN : (c - d) / (c + d));

/**
 * How a reward model agrees with its raters on labels it never trained on (the held-out
 * split), per rater, beside how the raters agree with each other on the same groups.
 * `scores[k]` are the model's rewards for `examples[k].texts`.
 */
export function agreementOf(examples: readonly PreferenceExample[], scores: readonly number[][]): Agreement {
  const byRater = new Map<number, { right: number; pairs: number }>();
  // The model's own order of each completion pair it scored.
  const modelOrder: Ordered = new Map();
  examples.forEach((e, k) => {
    const s = scores[k]!;
    const r = byRater.get(e.raterId) ?? { right: 0, pairs: 0 };
    for (let i = 0; i < e.texts.length; i++) {
      for (let j = i + 1; j < e.texts.length; j++) {
        const [a, b] = [e.completionIds[i]!, e.completionIds[j]!];
        if (s[i] !== s[j]) modelOrder.set(a < b ? `${a}<${b}` : `${b}<${a}`, a < b === s[i]! > s[j]! ? 1 : -1);
        if (e.levels[i] === e.levels[j] || e.texts[i] === e.texts[j]) continue;
        r.pairs++;
        if (e.levels[i]! < e.levels[j]! === s[i]! > s[j]!) r.right++;
      }
    }
    byRater.set(e.raterId, r);
  });

  // Rater–rater and model–rater on the pairs two raters both ordered within one group.
  const groups = new Map<string, PreferenceExample[]>();
  for (const e of examples) groups.set(e.group, [...(groups.get(e.group) ?? []), e]);
  let [rc, rd, mc, md] = [0, 0, 0, 0];
  for (const members of groups.values()) {
    const orders = members.map(orderedPairs);
    for (let x = 0; x < orders.length; x++) {
      for (let y = x + 1; y < orders.length; y++) {
        if (members[x]!.raterId === members[y]!.raterId) continue;
        for (const [key, sx] of orders[x]!) {
          const sy = orders[y]!.get(key);
          if (sy === undefined) continue;
          if (sx === sy) rc++;
          else rd++;
          for (const sr of [sx, sy]) {
            const m = modelOrder.get(key);
            if (m === undefined) continue;
            if (m === sr) mc++;
            else md++;
          }
        }
      }
    }
  }
  return {
    modelByRater: new Map([...byRater].map(([id, r]) => [id, { accuracy: r.pairs ? r.right / r.pairs : Number.NaN, pairs: r.pairs }])),
    raterRater: { tau: tau(rc, rd), pairs: rc + rd },
    modelRater: { tau: tau(mc, md), pairs: mc + md },
  };
}
