import type { PackedBatch } from "../ppo/batch.ts";
import type { Gpt2Batch } from "./gpt2-engine.ts";

/** A packed PPO batch (right-padded query + response rows) as the engine takes it. */
export function packedAsBatch(packed: PackedBatch): Gpt2Batch {
  return { ids: packed.ids, mask: packed.attention, positions: packed.positions, batch: packed.batch };
}

/** Each position's next token (what policyOutputs scores), 0 at the last position. */
export function nextTokenTargets(packed: PackedBatch): Int32Array {
  const T = packed.length;
  const targets = new Int32Array(packed.ids.length);
  for (let b = 0; b < packed.batch; b++) for (let t = 0; t + 1 < T; t++) targets[b * T + t] = packed.ids[b * T + t + 1]!;
  return targets;
}

export interface PpoMinibatchData {
  /** [B][T − 1] each, as PpoTrainer's minibatchUpdate takes them. */
  mask: number[][];
  oldLogprobs: number[][];
  oldValues: number[][];
  advantages: number[][];
  returns: number[][];
}

export interface PpoLossGrad {
  loss: number;
  policyLoss: number;
  valueLoss: number;
  clipFraction: number;
  approxKl: number;
  /** dL/d log π(next token) at each position [B·T] (0 at the last and where masked). */
  dLogprobs: Float32Array;
  /** dL/d value at each position [B·T]. */
  dValues: Float32Array;
}

/**
 * PpoTrainer's minibatch loss in TypeScript, from the engine's log-probabilities and
 * values per position [B·T] (T = the packed length), and its gradient per token:
 * pg = mean_M max(−A·r, −A·clip(r, 1 ± ε)), r = exp(lp − old);
 * vf = ½·mean_M max((v − R)², (v_clip − R)²), v_clip = old_v + clip(v − old_v, ±ε_v);
 * loss = pg + vfCoef·vf. Ties and clip bounds follow tfjs's gradients (maximum's
 * gradient goes to its first argument on ties; clipByValue passes it at the bounds).
 */
export function ppoLossGrad(
  logprobs: Float32Array,
  values: Float32Array,
  T: number,
  data: PpoMinibatchData,
  config: { clipRange: number; clipRangeValue: number; vfCoef: number },
): PpoLossGrad {
  const B = data.mask.length;
  const dLogprobs = new Float32Array(B * T);
  const dValues = new Float32Array(B * T);
  let tokens = 0;
  for (const row of data.mask) for (const m of row) tokens += m;
  const eps = config.clipRange;
  const epsV = config.clipRangeValue;
  let pg = 0;
  let vf = 0;
  let clipped = 0;
  let approx = 0;
  for (let b = 0; b < B; b++)
    for (let t = 0; t + 1 < T; t++) {
      const m = data.mask[b]![t]!;
      if (!m) continue;
      const i = b * T + t;
      const w = m / tokens;
      const logRatio = logprobs[i]! - data.oldLogprobs[b]![t]!;
      const ratio = Math.exp(logRatio);
      const adv = data.advantages[b]![t]!;
      const pg1 = -adv * ratio;
      const inside = ratio >= 1 - eps && ratio <= 1 + eps;
      const pg2 = -adv * Math.min(Math.max(ratio, 1 - eps), 1 + eps);
      pg += w * Math.max(pg1, pg2);
      if (pg2 > pg1) clipped += w;
      approx += w * 0.5 * logRatio * logRatio;
      // d/d lp of the chosen branch: −A·r (the clipped branch only inside the bounds).
      dLogprobs[i] = pg1 >= pg2 ? w * -adv * ratio : inside ? w * -adv * ratio : 0;

      const v = values[i]!;
      const oldV = data.oldValues[b]![t]!;
      const ret = data.returns[b]![t]!;
      const delta = v - oldV;
      const vInside = delta >= -epsV && delta <= epsV;
      const vClip = oldV + Math.min(Math.max(delta, -epsV), epsV);
      const e1 = (v - ret) ** 2;
      const e2 = (vClip - ret) ** 2;
      vf += w * 0.5 * Math.max(e1, e2);
      dValues[i] = config.vfCoef * w * (e1 >= e2 ? v - ret : vInside ? vClip - ret : 0);
    }
  return { loss: pg + config.vfCoef * vf, policyLoss: pg, valueLoss: vf, clipFraction: clipped, approxKl: approx, dLogprobs, dValues };
}
