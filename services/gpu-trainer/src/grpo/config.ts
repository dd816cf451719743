import { z } from "zod";
import { SamplingSchema } from "../generation/sampling.ts";

/**
 * GRPO's settings, trl's GRPOConfig names and defaults where trl has them; every default
 * says why. Unknown keys are refused, and derived sizes are checked.
 */
export const GrpoConfigSchema = z
  .object({
    // Completions per step (prompts × groupSize), as PPO's batchSize: seconds-long steps on 2 cores.
    batchSize: z.number().int().min(2).default(64),
    // Completions per prompt (trl: num_generations); 4 is the raters' group size.
    groupSize: z.number().int().min(2).default(4),
    // Completions per gradient step; batchSize must be a multiple of it.
    miniBatchSize: z.number().int().min(1).default(16),
    // Passes over each batch (trl: num_iterations 1); 2 reuses the costly rollouts once more, inside the clipped ratio.
    iterations: z.number().int().min(1).default(2),
    // "group": GRPO's (r − group mean) / group std; "rloo": the leave-one-out baseline r − mean of the other k − 1.
    advantage: z.enum(["group", "rloo"]).default("group"),
    // Divide group advantages by the group's std (trl: scale_rewards true); false is Dr. GRPO's variant.
    scaleRewards: z.boolean().default(true),
    // KL coefficient on the k3 estimator (trl 0.14–0.17: 0.04); the fixed reference keeps a run's drift in check.
    beta: z.number().min(0).default(0.04),
    // The ratio's clip range ε (trl: 0.2, as PPO).
    clipRange: z.number().positive().default(0.2),
    // Adam; PPO's rate for the same small models.
    learningRate: z.number().positive().default(1e-4),
    maxGradNorm: z.number().positive().default(1),
    // How completions are sampled (as PPO's: full distribution, up to 16 new tokens).
    generation: SamplingSchema.default({ maxNewTokens: 16, temperature: 1, topK: 0, topP: 1, seed: 0 }),
    seed: z.number().int().default(0),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.batchSize % c.groupSize !== 0)
      ctx.addIssue({ code: "custom", path: ["groupSize"], message: `batchSize (${c.batchSize}) must be a multiple of groupSize (${c.groupSize})` });
    if (c.batchSize % c.miniBatchSize !== 0)
      ctx.addIssue({ code: "custom", path: ["miniBatchSize"], message: `batchSize (${c.batchSize}) must be a multiple of miniBatchSize (${c.miniBatchSize})` });
  });

export type GrpoConfig = z.infer<typeof GrpoConfigSchema>;
