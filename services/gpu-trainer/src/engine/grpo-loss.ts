import type { Matrix } from "../ppo/advantages.ts";

/**
 * Advantages from a batch of scores in groups of `k` consecutive samples (k completions
 * of one prompt), no value head:
 * - "group" (GRPO, trl's GRPOTrainer): (r − mean of the group) / (std of the group + 1e-4),
 *   the std unbiased as torch's; `scale: false` leaves out the division (Dr. GRPO's fix
 *   for easy and hard prompts weighing the same).
 * - "rloo" (RLOO, Ahmadian et al. 2024): r − the mean of the group's other k − 1 scores,
 *   the leave-one-out baseline, unscaled.
 */
export function groupAdvantages(scores: readonly number[], k: number, mode: "group" | "rloo", scale = true): number[] {
  if (k < 2) throw new Error(`groupAdvantages: a group needs at least 2 samples, got ${k}`);
  if (scores.length % k !== 0) throw new Error(`groupAdvantages: ${scores.length} scores are not groups of ${k}`);
  const out: number[] = [];
  for (let g = 0; g < scores.length; g += k) {
    const group = scores.slice(g, g + k);
    const sum = group.reduce((a, b) => a + b, 0);
    const mean = sum / k;
    if (mode === "rloo") {
      for (const r of group) out.push(r - (sum - r) / (k - 1));
      continue;
    }
    const std = Math.sqrt(group.reduce((s, r) => s + (r - mean) ** 2, 0) / (k - 1));
    for (const r of group) out.push(scale ? (r - mean) / (std + 1e-4) : r - mean);
  }
  return out;
}

/** The mean over groups of each group's (unbiased) score std: trl's `reward_std`. */
export function meanGroupStd(scores: readonly number[], k: number): number {
  let total = 0;
  for (let g = 0; g < scores.length; g += k) {
    const group = scores.slice(g, g + k);
    const mean = group.reduce((a, b) => a + b, 0) / k;
    total += Math.sqrt(group.reduce((s, r) => s + (r - mean) ** 2, 0) / (k - 1));
  }
  return total / (scores.length / k);
}

export interface GrpoMinibatchData {
  /** [B][T − 1]: 1 where column t predicts a completion token. */
  mask: Matrix;
  /** [B][T − 1]: the policy's log-probabilities when the completions were sampled. */
  oldLogprobs: Matrix;
  /** [B][T − 1]: the fixed reference's. */
  refLogprobs: Matrix;
  /** [B]: one advantage per completion, every token of it sharing it. */
  advantages: readonly number[];
}

export interface GrpoLossGrad {
  loss: number;
  /** Mean over completion tokens of the k3 estimate of KL(π ‖ π_ref): trl's `kl`. */
  kl: number;
  /** Share of completion tokens whose clipped term was the smaller one (no gradient): trl's `clip_ratio`. */
  clipRatio: number;
  /** dL/d log π(next token) at each position [B·T]. */
  dLogprobs: Float32Array;
}

/**
 * GRPO's loss (trl's GRPOTrainer, token-level mean over the minibatch's completion
 * tokens) and its gradient per token, from the engine's log-probabilities [B·T]:
 * per token −min(r·A, clip(r, 1 ± ε)·A) + β·k3, r = exp(lp − old),
 * k3 = exp(ref − lp) − (ref − lp) − 1 (Schulman's unbiased, always ≥ 0 estimator).
 * d/d lp: −A·r where the unclipped term is the one taken, 0 where the clipped one is
 * strictly smaller; plus β·(1 − exp(ref − lp)).
 */
export function grpoLossGrad(logprobs: Float32Array, T: number, data: GrpoMinibatchData, config: { clipRange: number; beta: number }): GrpoLossGrad {
  const B = data.mask.length;
  const dLogprobs = new Float32Array(B * T);
  let tokens = 0;
  for (const row of data.mask) for (const m of row) tokens += m;
  if (tokens === 0) throw new Error("grpoLossGrad: no completion tokens in the minibatch");
  const eps = config.clipRange;
  let loss = 0;
  let kl = 0;
  let clipped = 0;
  for (let b = 0; b < B; b++) {
    const adv = data.advantages[b]!;
    for (let t = 0; t + 1 < T; t++) {
      if (!data.mask[b]![t]) continue;
      const i = b * T + t;
      const lp = logprobs[i]!;
      const ratio = Math.exp(lp - data.oldLogprobs[b]![t]!);
      const unclipped = ratio * adv;
      const clippedTerm = Math.min(Math.max(ratio, 1 - eps), 1 + eps) * adv;
      const delta = data.refLogprobs[b]![t]! - lp;
      const k3 = Math.exp(delta) - delta - 1;
      loss += (-Math.min(unclipped, clippedTerm) + config.beta * k3) / tokens;
      kl += k3 / tokens;
      const takesClip = clippedTerm < unclipped;
      if (takesClip) clipped += 1 / tokens;
      dLogprobs[i] = ((takesClip ? 0 : -adv * ratio) + config.beta * (1 - Math.exp(delta))) / tokens;
    }
  }
  return { loss, kl, clipRatio: clipped, dLogprobs };
}
