/**
 * Inter-rater agreement on items labeled by more than one rater.
 * - Rankings: Kendall's tau between two orders of the same set, 1 = same order,
 *   -1 = reversed, 0 = unrelated.
 * - Scores: the mean absolute difference between two raters' values, 0 = identical.
 */

/**
 * Kendall's tau-b between two orders (best first) of the same items, with optional
 * levels for ties (equal level = equally good). Without ties it is tau-a: concordant
 * minus discordant pairs over all pairs. A pair tied by either rater is neither; the
 * denominator √((n₀ − t_a)(n₀ − t_b)) leaves out each rater's own ties. NaN when one of
 * the two orders ties everything (no order to agree with).
 * @example kendallTau([1, 2, 3], [1, 3, 2]) // 1/3: two pairs agree, one is swapped
 */
export function kendallTau(a: readonly number[], b: readonly number[], levelsA?: readonly number[], levelsB?: readonly number[]): number {
  if (a.length !== b.length || a.length < 2) throw new RangeError(`kendallTau needs two orders of the same ≥2 items, got ${a.length} and ${b.length}`);
  const rankInB = new Map(b.map((item, i) => [item, levelsB?.[i] ?? i]));
  if (rankInB.size !== b.length || a.some((item) => !rankInB.has(item))) throw new RangeError("kendallTau: the two orders rank different items");
  const rankA = a.map((_, i) => levelsA?.[i] ?? i);
  let concordant = 0;
  let discordant = 0;
  let tiedA = 0;
  let tiedB = 0;
  let pairs = 0;
  for (let i = 0; i < a.length; i++) {
    for (let j = i + 1; j < a.length; j++) {
      pairs++;
      const da = Math.sign(rankA[j]! - rankA[i]!);
      const db = Math.sign(rankInB.get(a[j]!)! - rankInB.get(a[i]!)!);
      if (da === 0) tiedA++;
      if (db === 0) tiedB++;
      if (da === 0 || db === 0) continue;
      if (da === db) concordant++;
      else discordant++;
    }
  }
  const denominator = Math.sqrt((pairs - tiedA) * (pairs - tiedB));
  return denominator === 0 ? Number.NaN : (concordant - discordant) / denominator;
}

/** A rank list as agreement reads it: ids best first and their levels (ties share one). */
export interface RankOrder {
  ids: number[];
  levels: number[];
}

export const rankAgreement = (a: RankOrder, b: RankOrder) => kendallTau(a.ids, b.ids, a.levels, b.levels);

export interface Label<V> {
  raterId: number;
  item: string;
  value: V;
}

export interface Agreement {
  /** Items labeled by at least two raters. */
  items: number;
  /** Rater pairs compared over those items. */
  pairs: number;
  /** Mean of the pair statistic, null when no pair exists. */
  mean: number | null;
  /** The same mean, for each rater over the pairs they are in. */
  perRater: Map<number, { pairs: number; mean: number }>;
}

/**
 * Compares every pair of raters on every shared item with `statistic` and averages. A
 * statistic that is not a number for a pair (tau when one rater tied everything) is left out.
 */
export function pairwiseAgreement<V>(labels: readonly Label<V>[], statistic: (a: V, b: V) => number): Agreement {
  const byItem = new Map<string, Label<V>[]>();
  for (const label of labels) byItem.set(label.item, [...(byItem.get(label.item) ?? []), label]);
  let items = 0;
  let pairs = 0;
  let sum = 0;
  const perRater = new Map<number, { pairs: number; sum: number }>();
  const credit = (raterId: number, value: number) => {
    const entry = perRater.get(raterId) ?? { pairs: 0, sum: 0 };
    entry.pairs++;
    entry.sum += value;
    perRater.set(raterId, entry);
  };
  for (const group of byItem.values()) {
    if (group.length < 2) continue;
    const before = pairs;
    for (let i = 0; i < group.length; i++) {
      for (let j = i + 1; j < group.length; j++) {
        const value = statistic(group[i]!.value, group[j]!.value);
        if (!Number.isFinite(value)) continue;
        pairs++;
        sum += value;
        credit(group[i]!.raterId, value);
        credit(group[j]!.raterId, value);
      }
    }
    if (pairs > before) items++;
  }
  return {
    items,
    pairs,
    mean: pairs > 0 ? sum / pairs : null,
    perRater: new Map([...perRater].map(([id, e]) => [id, { pairs: e.pairs, mean: e.sum / e.pairs }])),
  };
}

export const absoluteDifference = (a: number, b: number) => Math.abs(a - b);
