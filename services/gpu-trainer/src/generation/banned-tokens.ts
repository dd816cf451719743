import type { WordPieceTokenizer } from "../tokenizer/wordpiece.ts";

/** The tokens sampling never draws: [PAD], [CLS] and [UNK] are not text a policy should write. */
export const samplingBannedTokens = (tok: WordPieceTokenizer): number[] => [tok.pad, tok.cls, tok.unk];

/**
 * What PPO (and the policy gate's KL) add to a banned token's logit, so the log-probs it
 * trains and measures are those of the distribution sampling really draws from.
 *
 * Without it PPO reward-hacks its own KL penalty: sampling drops the banned tokens, so
 * moving probability onto them lowers log π of every token actually sampled, the KL
 * estimate Σ log π − log π_ref goes negative and the penalty becomes a bonus. Measured on
 * the real-corpus demo with β = 0.05: KL −27 by epoch 80 and −135 by epoch 138, distinct-2
 * 0.80 → 0.15 and entropy 0.12 while the reward rose to 0.99 (docs/benchmarks.md).
 *
 * −30 rather than −∞: a banned token keeps a probability around e^−30 of the best
 * one's (sampling and training differ by nothing measurable, and the gradient pushing
 * mass onto it is as small), and a padding position whose target is [PAD] keeps a
 * finite log-prob, which the masked losses then multiply by 0 instead of getting NaN.
 */
export const BANNED_LOGIT_BIAS = -30;

/** A [vocab] bias: BANNED_LOGIT_BIAS at each banned token, 0 elsewhere. */
export function bannedLogitBias(vocabSize: number, banned: readonly number[]): Float32Array {
  const bias = new Float32Array(vocabSize);
  for (const t of banned) {
    if (!Number.isInteger(t) || t < 0 || t >= vocabSize) throw new Error(`banned token ${t} is outside the vocabulary (0..${vocabSize - 1})`);
    bias[t] = BANNED_LOGIT_BIAS;
  }
  return bias;
}
