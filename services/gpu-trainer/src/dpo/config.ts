import { z } from "zod";
import { SamplingSchema } from "../generation/sampling.ts";

/**
 * DPO's settings, trl's DPOConfig names and defaults where trl has them; every default
 * says why. Unknown keys are refused.
 */
export const DpoConfigSchema = z
  .object({
    // β (trl: 0.1): the implicit reward's scale; larger keeps the policy nearer the reference.
    beta: z.number().positive().default(0.1),
    // Passes over the pairs (trl: 3 for a fresh dataset); the loop sees the whole history each run, so one is enough there.
    epochs: z.number().int().min(1).default(1),
    // Pairs per optimiser step (each pair is two rows: chosen and rejected).
    batchSize: z.number().int().min(1).default(8),
    // Adam; trl's 1e-6 is for billion-parameter models, a small GPT-2 needs a larger step to move in a few hundred pairs.
    learningRate: z.number().positive().default(5e-5),
    // Gradient norm clip, as PPO's: one odd batch of pairs cannot throw the policy far.
    maxGradNorm: z.number().positive().default(1),
    // Prompt tokens kept (the end of a long prompt, the part next to the completion), [CLS] included.
    maxPromptLength: z.number().int().min(1).default(32),
    // Prompt + completion tokens per row; a completion past it is cut (its end then never trains); capped by n_positions.
    maxLength: z.number().int().min(2).default(96),
    // Pairs at most per run (the newest kept when there are more): bounds a run's time as the label history grows.
    maxPairs: z.number().int().min(1).default(4096),
    seed: z.number().int().default(0),
    // Stop early once KL to the reference (nats per sample, on the policy's own fresh samples) passes this; none: never.
    // Nothing else in DPO bounds the drift: over a growing label history the loop's policies passed the gate's KL budget
    // from the fourth run (docs/benchmarks.md), so the daemon sets it to ppo.stopAtKlShare × ppo.klBudget, as PPO's stop.
    stopAtKl: z.number().positive().optional(),
    // Steps between KL checks, and fresh samples per check: 32 samples keep a check near a second on 2 cores with the
    // loop's small policy; the estimate's noise (a few tenths of a nat) is small beside the budget's margin.
    klCheckEvery: z.number().int().min(1).default(16),
    klCheckSamples: z.number().int().min(1).default(32),
    // How the KL check samples (the daemon passes PPO's generation settings, what the gate samples with).
    generation: SamplingSchema.default({ maxNewTokens: 16, temperature: 1, topK: 0, topP: 1, seed: 0 }),
  })
  .strict();

export type DpoConfig = z.infer<typeof DpoConfigSchema>;
