import type { Matrix } from "../ppo/advantages.ts";
import { selectRows, type PackedBatch } from "../ppo/batch.ts";
import type { OnnxGpt2Engine } from "./gpt2-engine.ts";
import { nextTokenTargets, packedAsBatch } from "./ppo-loss.ts";

/**
 * An RL step's rollout statistics on the engine, [B][T − 1] each: the policy's old
 * log-probabilities, values (with a value head) and next-token entropies, and the
 * reference's log-probabilities, from the forward-only stats graph a chunk of rows at a
 * time (each chunk trimmed to its longest row), so memory holds one chunk's activations.
 * PPO and GRPO both take theirs here.
 */
export async function engineRolloutStats(
  policy: OnnxGpt2Engine,
  reference: OnnxGpt2Engine,
  packed: PackedBatch,
  chunk: number,
): Promise<{ oldLogprobs: Matrix; oldValues?: Matrix; refLogprobs: Matrix; entropy: Matrix }> {
  const n = packed.batch;
  const matrix = (): Matrix => Array.from({ length: n }, () => new Array<number>(packed.length - 1).fill(0));
  const stats = { oldLogprobs: matrix(), refLogprobs: matrix(), entropy: matrix(), ...(policy.valueHead ? { oldValues: matrix() } : {}) };
  for (let start = 0; start < n; start += chunk) {
    const idx = Array.from({ length: Math.min(chunk, n - start) }, (_, k) => start + k);
    const rows = selectRows(packed, idx);
    const batch = packedAsBatch(rows);
    const targets = nextTokenTargets(rows);
    const now = await policy.stats(batch, targets);
    const ref = await reference.stats(batch, targets);
    const L = rows.length;
    idx.forEach((i, k) => {
      for (let t = 0; t < L - 1; t++) {
        stats.oldLogprobs[i]![t] = now.targetLogprobs[k * L + t]!;
        stats.entropy[i]![t] = now.entropy[k * L + t]!;
        stats.refLogprobs[i]![t] = ref.targetLogprobs[k * L + t]!;
        if (stats.oldValues) stats.oldValues[i]![t] = now.values![k * L + t]!;
      }
    });
  }
  return stats;
}

/**
 * KL(π ‖ π_ref) estimated on samples drawn from π: the mean over rows of
 * Σ_t log π(y_t) − log π_ref(y_t) over each row's response tokens, in nats per sample
 * (unbiased when the rows are π's own samples). The policy gate and DPO's KL stop both
 * measure it here.
 */
export async function sampledKlToReference(policy: OnnxGpt2Engine, reference: OnnxGpt2Engine, packed: PackedBatch, chunk: number): Promise<number> {
  const stats = await engineRolloutStats(policy, reference, packed, chunk);
  let kl = 0;
  packed.responseMask.forEach((mask, i) => mask.forEach((m, t) => (kl += m * (stats.oldLogprobs[i]![t]! - stats.refLogprobs[i]![t]!))));
  return kl / packed.batch;
}
