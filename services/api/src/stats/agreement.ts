/**
 * Inter-rater agreement on items labeled by more than one rater.
 * - Rankings: Kendall's tau between two orders of the same set, 1 = same order,
 *   -1 = reversed, 0 = unrelated.
 * - Scores: the mean absolute difference between two raters' values, 0 = identical.
 */

/**
 * Kendall's tau-a between two orders (best first) of the same items.
 * @example kendallTau([1, 2, 3], [1, 3, 2]) // 1/3: two pairs agree, one is swapped
 */
export function kendallTau(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length || a.length < 2) throw new RangeError(`kendallTau needs two orders of the same ≥2 items, got ${a.length} and ${b.length}`);
  const positionInB = new Map(b.map((item, i) => [item, i]));
  if (positionInB.size !== b.length || a.some((item) => !positionInB.has(item))) throw new RangeError("kendallTau: the two orders rank different items");
  let concordant = 0;
  let discordant = 0;
  for (let i = 0; i < a.length; i++) {
    for (let j = i + 1; j < a.length; j++) {
      // a puts a[i] above a[j]; does b agree?
      if (positionInB.get(a[i]!)! < positionInB.get(a[j]!)!) concordant++;
      else discordant++;
    }
  }
  return (concordant - discordant) / (concordant + discordant);
}

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

/** Compares every pair of raters on every shared item with `statistic` and averages. */
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
    items++;
    for (let i = 0; i < group.length; i++) {
      for (let j = i + 1; j < group.length; j++) {
        const value = statistic(group[i]!.value, group[j]!.value);
        pairs++;
        sum += value;
        credit(group[i]!.raterId, value);
        credit(group[j]!.raterId, value);
      }
    }
  }
  return {
    items,
    pairs,
    mean: pairs > 0 ? sum / pairs : null,
    perRater: new Map([...perRater].map(([id, e]) => [id, { pairs: e.pairs, mean: e.sum / e.pairs }])),
  };
}

export const absoluteDifference = (a: number, b: number) => Math.abs(a - b);
