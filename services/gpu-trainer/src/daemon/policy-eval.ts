import { OnnxGpt2Engine } from "../engine/gpt2-engine.ts";
import { sampledKlToReference } from "../engine/rollout-stats.ts";
import { bannedLogitBias, samplingBannedTokens } from "../generation/banned-tokens.ts";
import { samplePolicy } from "../generation/sample-policy.ts";
import type { Sampling } from "../generation/sampling.ts";
import { readGpt2Dir } from "../io/gpt2-dir.ts";
import { distinct2, meanChars } from "../metrics/diversity.ts";
import { packBatch } from "../ppo/batch.ts";

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
 * The policy gate's figures, from `samples` fresh continuations of `prompts` (drawn in
 * turn) that PPO never trained on: KL to the reference, distinct-2 beside the
 * reference's own, and mean length. Everything on onnxruntime from the folders' weight
 * stores: generation from each model.onnx, the log-probabilities from the engine's stats
 * graph (16 rows at a time: bounded memory) over the distribution the samples were drawn
 * from (banned tokens excluded, as PPO measures it: otherwise a policy that moved mass onto
 * them would show a negative KL).
 */
export async function evaluatePolicy(
  policyDir: string,
  referenceDir: string,
  prompts: readonly string[],
  options: { samples: number; sampling: Sampling },
): Promise<PolicyEvaluation> {
  const rows = Array.from({ length: options.samples }, (_, i) => prompts[i % prompts.length]!);
  const policy = readGpt2Dir(policyDir, { valueHead: false });
  const reference = readGpt2Dir(referenceDir, { valueHead: false });
  const mine = await samplePolicy(policy, policyDir, rows, options.sampling);
  const theirs = await samplePolicy(reference, referenceDir, rows, options.sampling);
  const logitsBias = bannedLogitBias(policy.config.vocab_size, samplingBannedTokens(policy.tokenizer));
  const frozen = { valueHead: false, trainable: false, logitsBias };
  const policyEngine = await OnnxGpt2Engine.fromStore(policy, frozen);
  const referenceEngine = await OnnxGpt2Engine.fromStore(reference, frozen);
  try {
    const packed = packBatch(mine.queries, mine.responses, policy.tokenizer.pad);
    const klToReference = await sampledKlToReference(policyEngine, referenceEngine, packed, 16);
    return {
      klToReference,
      distinct2: distinct2(mine.texts),
      referenceDistinct2: distinct2(theirs.texts),
      meanChars: meanChars(mine.texts),
      samples: mine.texts,
    };
  } finally {
    await policyEngine.close();
    await referenceEngine.close();
  }
}
