import * as tf from "@tensorflow/tfjs";
import { bannedLogitBias, samplingBannedTokens } from "../generation/banned-tokens.ts";
import { samplePolicy } from "../generation/sample-policy.ts";
import type { Sampling } from "../generation/sampling.ts";
import { loadGpt2Dir, type Gpt2Model } from "../io/gpt2-dir.ts";
import { distinct2, meanChars } from "../metrics/diversity.ts";
import { disposeParams } from "../models/params.ts";
import { packBatch } from "../ppo/batch.ts";
import { policyOutputs } from "../ppo/forward.ts";

export interface PolicyEvaluation {
  /** Mean over the policy's fresh samples of Σ_t log π(y_t) − log π_ref(y_t): an unbiased estimate of KL(π ‖ π_ref), nats per sample. */
  klToReference: number;
  distinct2: number;
  /** The reference's distinct-2 on the same prompts and seed: what "not collapsing" is measured against. */
  referenceDistinct2: number;
  meanChars: number;
  samples: string[];
}

/**
 * Σ over response tokens of log π(token), per sample, in chunks of 16 rows (bounded
 * memory), over the distribution the samples were drawn from (banned tokens excluded, as
 * PPO measures it: otherwise a policy that moved mass onto them would show a negative KL).
 */
function sequenceLogprobs(model: Gpt2Model, queries: number[][], responses: number[][]): number[] {
  const out: number[] = [];
  const bias = bannedLogitBias(model.config.vocab_size, samplingBannedTokens(model.tokenizer));
  for (let start = 0; start < queries.length; start += 16) {
    const packed = packBatch(queries.slice(start, start + 16), responses.slice(start, start + 16), model.tokenizer.pad);
    const rows = tf.tidy(() => policyOutputs(model.params, model.config, packed, bias).logprobs.arraySync());
    rows.forEach((row, i) => out.push(row.reduce((s, lp, t) => s + packed.responseMask[i]![t]! * lp, 0)));
  }
  return out;
}

/**
 * The policy gate's figures, from `samples` fresh continuations of `prompts` (drawn in
 * turn) that PPO never trained on: KL to the reference, distinct-2 beside the
 * reference's own, and mean length.
 */
export async function evaluatePolicy(policyDir: string, referenceDir: string, prompts: readonly string[], options: { samples: number; sampling: Sampling }): Promise<PolicyEvaluation> {
  const rows = Array.from({ length: options.samples }, (_, i) => prompts[i % prompts.length]!);
  const policy = loadGpt2Dir(policyDir, { valueHead: false });
  const reference = loadGpt2Dir(referenceDir, { valueHead: false });
  try {
    const mine = await samplePolicy(policy, policyDir, rows, options.sampling);
    const theirs = await samplePolicy(reference, referenceDir, rows, options.sampling);
    const lpPolicy = sequenceLogprobs(policy, mine.queries, mine.responses);
    const lpReference = sequenceLogprobs(reference, mine.queries, mine.responses);
    const kl = lpPolicy.reduce((s, lp, i) => s + lp - lpReference[i]!, 0) / lpPolicy.length;
    return { klToReference: kl, distinct2: distinct2(mine.texts), referenceDistinct2: distinct2(theirs.texts), meanChars: meanChars(mine.texts), samples: mine.texts };
  } finally {
    disposeParams(policy.params);
    disposeParams(reference.params);
  }
}
