import type { Matrix } from "../ppo/advantages.ts";

/**
 * Σ over the response tokens of each row of log π(token | everything before it): a
 * sequence's log-probability given its prompt. `logprobs` is the engine's per-position
 * [B·T] (T = the packed length, column t predicting token t + 1), `mask` the packed
 * batch's responseMask [B][T − 1].
 */
export function sequenceLogprobs(logprobs: Float32Array, mask: Matrix, T: number): number[] {
  return mask.map((row, b) => row.reduce((s, m, t) => s + (m ? logprobs[b * T + t]! : 0), 0));
}

/** A gradient per sequence spread onto its response tokens: d/d log π(token) = d/d Σ log π [B·T]. */
export function perTokenGradient(dSequence: readonly number[], mask: Matrix, T: number): Float32Array {
  const out = new Float32Array(mask.length * T);
  mask.forEach((row, b) => row.forEach((m, t) => (out[b * T + t] = m ? dSequence[b]! : 0)));
  return out;
}

/** −log σ(x) = log(1 + e^−x), without overflow for large |x|. */
export const negLogSigmoid = (x: number) => (x >= 0 ? Math.log1p(Math.exp(-x)) : -x + Math.log1p(Math.exp(x)));
const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/** The sequence log-probabilities of a batch of pairs, one entry per pair. */
export interface DpoPairLogprobs {
  policyChosen: readonly number[];
  policyRejected: readonly number[];
  referenceChosen: readonly number[];
  referenceRejected: readonly number[];
  /** How much each pair counts (its rater's reliability); 1 each when absent. */
  weights?: readonly number[];
}

/** A DPO batch's metrics under trl's DPOTrainer names, and the loss's gradient per sequence. */
export interface DpoLossGrad {
  loss: number;
  /** Mean over pairs of β·(log π_c − log π_ref,c): the implicit reward of the chosen completions. */
  rewardsChosen: number;
  rewardsRejected: number;
  /** Share of pairs whose chosen implicit reward is above the rejected one's. */
  accuracy: number;
  margin: number;
  logpsChosen: number;
  logpsRejected: number;
  /** dL/d log π_c and dL/d log π_r per pair. */
  dChosen: number[];
  dRejected: number[];
}

/**
 * DPO's sigmoid loss (Rafailov et al. 2023; trl's `loss_type="sigmoid"`) over pairs:
 * L = Σ_i w_i·(−log σ(β·z_i)) / Σ_i w_i, z_i = (log π_c − log π_ref,c) − (log π_r − log π_ref,r),
 * the plain mean when no weights are given (as the reward model's weighted rank loss).
 * dL/d log π_c = −(w_i/Σw)·β·σ(−β·z_i) and dL/d log π_r its negative. The metrics are
 * unweighted means over the pairs, as trl logs them.
 */
export function dpoLossGrad(pairs: DpoPairLogprobs, beta: number): DpoLossGrad {
  const n = pairs.policyChosen.length;
  if (n === 0) throw new Error("dpoLossGrad: no pairs");
  for (const [name, xs] of Object.entries(pairs)) if (xs && xs.length !== n) throw new Error(`dpoLossGrad: ${xs.length} ${name} for ${n} pairs`);
  const weights = pairs.weights ?? new Array<number>(n).fill(1);
  const total = weights.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new Error("dpoLossGrad: the pair weights must sum to more than 0");
  const out: DpoLossGrad = {
    loss: 0,
    rewardsChosen: 0,
    rewardsRejected: 0,
    accuracy: 0,
    margin: 0,
    logpsChosen: 0,
    logpsRejected: 0,
    dChosen: [],
    dRejected: [],
  };
  for (let i = 0; i < n; i++) {
    const chosen = beta * (pairs.policyChosen[i]! - pairs.referenceChosen[i]!);
    const rejected = beta * (pairs.policyRejected[i]! - pairs.referenceRejected[i]!);
    const w = weights[i]! / total;
    out.loss += w * negLogSigmoid(chosen - rejected);
    const d = -w * beta * sigmoid(-(chosen - rejected));
    out.dChosen.push(d);
    out.dRejected.push(-d);
    out.rewardsChosen += chosen / n;
    out.rewardsRejected += rejected / n;
    out.accuracy += (chosen > rejected ? 1 : 0) / n;
    out.margin += (chosen - rejected) / n;
    out.logpsChosen += pairs.policyChosen[i]! / n;
    out.logpsRejected += pairs.policyRejected[i]! / n;
  }
  return out;
}

/** trl's DPOTrainer metric names, one place. */
export const DPO_METRICS = {
  loss: "loss",
  rewardsChosen: "rewards/chosen",
  rewardsRejected: "rewards/rejected",
  accuracy: "rewards/accuracies",
  margin: "rewards/margins",
  logpsChosen: "logps/chosen",
  logpsRejected: "logps/rejected",
} as const;

/** A DpoLossGrad's figures under trl's names (the gradients left out). */
export function dpoMetrics(m: Omit<DpoLossGrad, "dChosen" | "dRejected">, prefix = ""): Record<string, number> {
  return Object.fromEntries(Object.entries(DPO_METRICS).map(([key, name]) => [`${prefix}${name}`, m[key as keyof typeof DPO_METRICS]]));
}
