import type { PreferenceExample } from "./examples.ts";

export interface RaterReliability {
  /** Estimated probability that this rater orders a pair the way the crowd's consensus does. */
  accuracy: number;
  /** Pair judgements that another rater also made (what the estimate rests on). */
  sharedJudgements: number;
  /** How much this rater's pairs count in reward-model training (reliabilityWeight). */
  weight: number;
}

/** Beta prior on a rater's accuracy: mean 0.8, worth 5 judgements, so a rater with few shared pairs stays near it. */
const PRIOR = { agree: 4, disagree: 1 };

/**
 * A rater's weight from their accuracy p: 2p − 1, the expected agreement of their vote
 * with the truth (−1…1), floored at 0.1. A rater at chance (p = 0.5) counts a tenth of
 * a perfect one; nobody's labels are thrown away, so a newcomer is not silenced.
 */
export const reliabilityWeight = (p: number) => Math.max(0.1, Math.min(1, 2 * p - 1));

/**
 * Rater reliability by a one-coin Dawid–Skene model over pairwise judgements: each rater
 * r orders a pair the true way with probability p_r. The items are completion pairs of a
 * group that at least two raters ordered (ties state no order). EM: the posterior of each
 * pair's true order given everyone's votes and the current p's, then each p_r as the
 * expected share of their votes that match it, with a Beta(4, 1) prior. A careless rater
 * who answers a quarter of tasks at random ends near 0.8 of a careful one's agreement.
 */
export function raterReliability(examples: readonly PreferenceExample[], iterations = 30): Map<number, RaterReliability> {
  // item key → votes (rater, +1 when the lower id is better)
  const items = new Map<string, { rater: number; vote: 1 | -1 }[]>();
  for (const e of examples) {
    for (let i = 0; i < e.completionIds.length; i++) {
      for (let j = i + 1; j < e.completionIds.length; j++) {
        if (e.levels[i] === e.levels[j] || e.texts[i] === e.texts[j]) continue;
        const [a, b] = [e.completionIds[i]!, e.completionIds[j]!];
        const aBetter = e.levels[i]! < e.levels[j]!;
        const key = `${e.group}|${Math.min(a, b)}<${Math.max(a, b)}`;
        const votes = items.get(key) ?? [];
        votes.push({ rater: e.raterId, vote: (a < b) === aBetter ? 1 : -1 });
        items.set(key, votes);
      }
    }
  }
  const shared = [...items.values()].filter((votes) => new Set(votes.map((v) => v.rater)).size >= 2);
  const raters = new Set(examples.map((e) => e.raterId));
  const p = new Map([...raters].map((r) => [r, PRIOR.agree / (PRIOR.agree + PRIOR.disagree)]));
  const counts = new Map<number, number>();
  for (const votes of shared) for (const v of votes) counts.set(v.rater, (counts.get(v.rater) ?? 0) + 1);
  for (let it = 0; it < iterations; it++) {
    const agree = new Map<number, number>();
    for (const votes of shared) {
      // log-odds that the lower id is truly better
      let logOdds = 0;
      for (const v of votes) {
        const pr = Math.min(0.999, Math.max(0.001, p.get(v.rater)!));
        logOdds += v.vote * Math.log(pr / (1 - pr));
      }
      const up = 1 / (1 + Math.exp(-logOdds));
      for (const v of votes) agree.set(v.rater, (agree.get(v.rater) ?? 0) + (v.vote === 1 ? up : 1 - up));
    }
    for (const r of raters) p.set(r, (PRIOR.agree + (agree.get(r) ?? 0)) / (PRIOR.agree + PRIOR.disagree + (counts.get(r) ?? 0)));
  }
  return new Map([...raters].map((r) => [r, { accuracy: p.get(r)!, sharedJudgements: counts.get(r) ?? 0, weight: reliabilityWeight(p.get(r)!) }]));
}
