import type { PreferenceExample } from "./examples.ts";

export interface RaterReliability {
  /** Estimated probability that this rater orders a pair the true way. */
  accuracy: number;
  /** Pair judgements the estimate rests on: shared with another rater, or of a gold pair. */
  sharedJudgements: number;
  /** Of those, judgements of pairs whose true order a gold group states. */
  goldJudgements: number;
  /** How much this rater's pairs count in reward-model training (reliabilityWeight). */
  weight: number;
}

/** A group whose true order an admin knows (GET /v1/gold-groups): completion ids best first, ties share a level. */
export interface GoldOrder {
  completionIds: readonly number[];
  levels: readonly number[];
}

/** Beta prior on a rater's accuracy: mean 0.8, worth 5 judgements, so a rater with few shared pairs stays near it. */
const PRIOR = { agree: 4, disagree: 1 };

/**
 * A rater's weight from their accuracy p: 2p − 1, the expected agreement of their vote
 * with the truth (−1…1), floored at 0.1. A rater at chance (p = 0.5) counts a tenth of
 * a perfect one; nobody's labels are thrown away, so a newcomer is not silenced.
 */
export const reliabilityWeight = (p: number) => Math.max(0.1, Math.min(1, 2 * p - 1));

const pairKey = (a: number, b: number) => `${Math.min(a, b)}<${Math.max(a, b)}`;

/**
 * The true order of each completion pair the gold groups order: +1 when the lower id is
 * better. Ties state no order; a pair two gold groups order differently is dropped (no
 * known truth rather than a wrong one).
 */
export function goldPairTruths(gold: readonly GoldOrder[]): Map<string, 1 | -1> {
  const truth = new Map<string, 1 | -1>();
  const contested = new Set<string>();
  for (const g of gold) {
    for (let i = 0; i < g.completionIds.length; i++) {
      for (let j = i + 1; j < g.completionIds.length; j++) {
        if (g.levels[i] === g.levels[j]) continue;
        const [a, b] = [g.completionIds[i]!, g.completionIds[j]!];
        const vote: 1 | -1 = a < b === g.levels[i]! < g.levels[j]! ? 1 : -1;
        const key = pairKey(a, b);
        if (truth.has(key) && truth.get(key) !== vote) contested.add(key);
        truth.set(key, vote);
      }
    }
  }
  for (const key of contested) truth.delete(key);
  return truth;
}

interface Item {
  votes: { rater: number; vote: 1 | -1 }[];
  /** The known true order (+1: the lower id is better), from a gold group. */
  truth?: 1 | -1;
}

/**
 * Rater reliability by a one-coin Dawid–Skene model over pairwise judgements: each rater
 * r orders a pair the true way with probability p_r. The items are completion pairs of a
 * group that at least two raters ordered (ties state no order), and pairs a gold group
 * orders, which count even when one rater judged them. EM: the posterior of each pair's
 * true order given everyone's votes and the current p's, then each p_r as the expected
 * share of their votes that match it, with a Beta(4, 1) prior. A careless rater who
 * answers a quarter of tasks at random ends near 0.8 of a careful one's agreement.
 *
 * Gold enters as observed truth, the semi-supervised form of Dawid–Skene: for a gold pair
 * the E-step does not infer the order but fixes the posterior at the known one (1 or 0),
 * so a judgement of it is a direct draw of the rater's coin. And EM starts from the
 * gold: the first p's are each rater's prior-smoothed agreement with the gold pairs, not
 * the prior mean. Without that start, a bloc of spammers who agree with each other (one
 * copying another, or all picking the first option) outvotes careful raters in the first
 * E-step and EM settles in that wrong fixed point; started from the gold, their votes
 * weigh little from the first step on.
 */
export function raterReliability(
  examples: readonly PreferenceExample[],
  options: { gold?: readonly GoldOrder[]; iterations?: number } = {},
): Map<number, RaterReliability> {
  const iterations = options.iterations ?? 30;
  const truths = goldPairTruths(options.gold ?? []);
  // item key → votes (rater, +1 when the lower id is better)
  const items = new Map<string, Item>();
  for (const e of examples) {
    for (let i = 0; i < e.completionIds.length; i++) {
      for (let j = i + 1; j < e.completionIds.length; j++) {
        if (e.levels[i] === e.levels[j] || e.texts[i] === e.texts[j]) continue;
        const [a, b] = [e.completionIds[i]!, e.completionIds[j]!];
        const aBetter = e.levels[i]! < e.levels[j]!;
        const key = `${e.group}|${pairKey(a, b)}`;
        const item = items.get(key) ?? { votes: [], ...(truths.has(pairKey(a, b)) ? { truth: truths.get(pairKey(a, b))! } : {}) };
        item.votes.push({ rater: e.raterId, vote: a < b === aBetter ? 1 : -1 });
        items.set(key, item);
      }
    }
  }
  const used = [...items.values()].filter((item) => item.truth !== undefined || new Set(item.votes.map((v) => v.rater)).size >= 2);
  const raters = new Set(examples.map((e) => e.raterId));
  const counts = new Map<number, number>();
  const goldCounts = new Map<number, number>();
  const goldAgree = new Map<number, number>();
  for (const item of used) {
    for (const v of item.votes) {
      counts.set(v.rater, (counts.get(v.rater) ?? 0) + 1);
      if (item.truth === undefined) continue;
      goldCounts.set(v.rater, (goldCounts.get(v.rater) ?? 0) + 1);
      if (v.vote === item.truth) goldAgree.set(v.rater, (goldAgree.get(v.rater) ?? 0) + 1);
    }
  }
  // Start from the gold: each rater's agreement with it (the prior mean for a rater without gold judgements).
  const p = new Map([...raters].map((r) => [r, (PRIOR.agree + (goldAgree.get(r) ?? 0)) / (PRIOR.agree + PRIOR.disagree + (goldCounts.get(r) ?? 0))]));
  for (let it = 0; it < iterations; it++) {
    const agree = new Map<number, number>();
    for (const { votes, truth } of used) {
      // The probability that the lower id is truly better: known for gold, else from the votes' log-odds.
      let up: number;
      if (truth !== undefined) up = truth === 1 ? 1 : 0;
      else {
        let logOdds = 0;
        for (const v of votes) {
          const pr = Math.min(0.999, Math.max(0.001, p.get(v.rater)!));
          logOdds += v.vote * Math.log(pr / (1 - pr));
        }
        up = 1 / (1 + Math.exp(-logOdds));
      }
      for (const v of votes) agree.set(v.rater, (agree.get(v.rater) ?? 0) + (v.vote === 1 ? up : 1 - up));
    }
    for (const r of raters) p.set(r, (PRIOR.agree + (agree.get(r) ?? 0)) / (PRIOR.agree + PRIOR.disagree + (counts.get(r) ?? 0)));
  }
  return new Map(
    [...raters].map((r) => [
      r,
      { accuracy: p.get(r)!, sharedJudgements: counts.get(r) ?? 0, goldJudgements: goldCounts.get(r) ?? 0, weight: reliabilityWeight(p.get(r)!) },
    ]),
  );
}
