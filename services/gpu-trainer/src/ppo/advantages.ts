/**
 * PPO's pure arithmetic on plain arrays, as trl computes it. Rows are samples, columns
 * response tokens; `mask` is 1 on real response tokens and 0 on padding after the end.
 */

export type Matrix = number[][];

/** Σ v·m / Σ m over every row. */
export function maskedMean(values: Matrix, mask: Matrix): number {
  let sum = 0;
  let count = 0;
  values.forEach((row, i) =>
    row.forEach((v, j) => {
      sum += v * mask[i]![j]!;
      count += mask[i]![j]!;
    }),
  );
  if (count === 0) throw new Error("maskedMean: the mask selects nothing");
  return sum / count;
}

/** The masked variance, with Bessel's correction (unbiased) as trl's masked_var. */
export function maskedVar(values: Matrix, mask: Matrix, unbiased = true): number {
  const mean = maskedMean(values, mask);
  const variance = maskedMean(
    values.map((row) => row.map((v) => (v - mean) ** 2)),
    mask,
  );
  if (!unbiased) return variance;
  const count = mask.flat().reduce((a, b) => a + b, 0);
  if (count < 2) return 0;
  return (variance * count) / (count - 1);
}

/** (v − mean) / √(var + 1e-8) over the masked entries; shiftMean false adds the mean back (trl's option). */
export function maskedWhiten(values: Matrix, mask: Matrix, shiftMean = true): Matrix {
  const mean = maskedMean(values, mask);
  const scale = 1 / Math.sqrt(maskedVar(values, mask) + 1e-8);
  return values.map((row) => row.map((v) => (v - mean) * scale + (shiftMean ? 0 : mean)));
}

/**
 * Per-token rewards: −β·(log π − log π_ref) on every response token, plus the score on
 * the last real one. Returns the rewards and the KL-penalty part alone.
 */
export function tokenRewards(scores: number[], logprobs: Matrix, refLogprobs: Matrix, mask: Matrix, beta: number): { rewards: Matrix; penalties: Matrix } {
  const penalties = logprobs.map((row, i) => row.map((lp, j) => (mask[i]![j]! ? -beta * (lp - refLogprobs[i]![j]!) : 0)));
  const rewards = penalties.map((row, i) => {
    const out = [...row];
    const last = mask[i]!.lastIndexOf(1);
    if (last < 0) throw new Error(`tokenRewards: sample ${i} has no response tokens`);
    out[last]! += scores[i]!;
    return out;
  });
  return { rewards, penalties };
}

/**
 * Generalised advantage estimation over each row (values after the last real token
 * count as 0), then returns = advantages + values, then whitened advantages.
 */
export function gae(rewards: Matrix, values: Matrix, mask: Matrix, gamma: number, lambda: number): { advantages: Matrix; returns: Matrix } {
  const raw = rewards.map((row, i) => {
    const out = new Array<number>(row.length).fill(0);
    let last = 0;
    for (let t = row.length - 1; t >= 0; t--) {
      // Padding positions carry no reward and no value, so they pass nothing back.
      const next = t + 1 < row.length ? values[i]![t + 1]! * mask[i]![t + 1]! : 0;
      const delta = row[t]! + gamma * next - values[i]![t]!;
      last = mask[i]![t]! ? delta + gamma * lambda * last : 0;
      out[t] = last;
    }
    return out;
  });
  const returns = raw.map((row, i) => row.map((a, t) => a + values[i]![t]!));
  return { advantages: maskedWhiten(raw, mask), returns };
}
