import { z } from "zod";
import { SamplingSchema } from "../generation/sampling.ts";

/**
 * PPO's settings, trl's names and defaults where trl has them; every default says why.
 * Unknown keys are refused, and derived sizes are checked.
 */
export const PpoConfigSchema = z
  .object({
    // Samples per PPO step: enough for a stable advantage estimate, small enough for seconds-long steps on 2 cores.
    batchSize: z.number().int().min(1).default(64),
    // Samples per gradient step inside a PPO epoch; batchSize must be a multiple of it.
    miniBatchSize: z.number().int().min(1).default(16),
    // Passes over each batch (trl: 4): reuse costly rollouts, within the clipped trust region.
    ppoEpochs: z.number().int().min(1).default(4),
    // Adam; trl's 1.41e-5 is for 124M-parameter GPT-2; a small model tolerates a larger step.
    learningRate: z.number().positive().default(1e-4),
    // Rewards arrive only at the end of a short continuation: no discounting (trl: 1).
    gamma: z.number().min(0).max(1).default(1),
    // GAE λ (trl: 0.95): mostly Monte Carlo, a little bootstrapping to cut variance.
    lambda: z.number().min(0).max(1).default(0.95),
    // The policy ratio's clip range ε (PPO paper and trl: 0.2).
    clipRange: z.number().positive().default(0.2),
    // The value clip range (trl: 0.2), so one batch cannot swing the value head far.
    clipRangeValue: z.number().positive().default(0.2),
    // Value loss weight (trl: 0.1): the value head shares the trunk and should not dominate it.
    vfCoef: z.number().min(0).default(0.1),
    // Initial KL penalty β (trl: 0.2).
    initKlCoef: z.number().min(0).default(0.2),
    // Adapt β toward targetKl over `horizon` samples (trl: adaptive, target 6, horizon 10000); false keeps β fixed.
    adaptiveKl: z.boolean().default(true),
    targetKl: z.number().positive().default(6),
    horizon: z.number().positive().default(10000),
    // Whiten the scores per batch (trl: off); the classifier's probabilities are already on a fixed 0–1 scale.
    whitenScores: z.boolean().default(false),
    // Gradient norm clip: small models with Adam can take a wild step on one odd batch.
    maxGradNorm: z.number().positive().default(1),
    // How continuations are sampled (trl's sentiment example: top_k 0, top_p 1, up to ~16 new tokens).
    generation: SamplingSchema.default({ maxNewTokens: 16, temperature: 1, topK: 0, topP: 1, seed: 0 }),
    seed: z.number().int().default(0),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.batchSize % c.miniBatchSize !== 0) {
      ctx.addIssue({ code: "custom", path: ["miniBatchSize"], message: `batchSize (${c.batchSize}) must be a multiple of miniBatchSize (${c.miniBatchSize})` });
    }
    if (c.miniBatchSize > c.batchSize) {
      ctx.addIssue({ code: "custom", path: ["miniBatchSize"], message: `miniBatchSize (${c.miniBatchSize}) cannot exceed batchSize (${c.batchSize})` });
    }
  });

export type PpoConfig = z.infer<typeof PpoConfigSchema>;
