import { z } from "zod";
import { DEVICES } from "../onnx/device.ts";
import { DpoConfigSchema } from "../dpo/config.ts";
import { GrpoConfigSchema } from "../grpo/config.ts";
import { PpoConfigSchema } from "../ppo/config.ts";

/**
 * The daemon's settings; every default says why. It composes the reward-model and PPO
 * jobs' own configs (reward/train-config.ts, ppo/config.ts) with the loop's gates.
 */
export const DaemonConfigSchema = z
  .object({
    apiUrl: z.url(),
    trainerToken: z.string().min(16),
    trainer: z.string().min(1).max(128).default("gpu-trainer"),
    home: z.string().default(".ranklab/daemon"),
    // New labels a run leases at most; a lease outlives a run on 2 cores with room to spare.
    leaseLimit: z.number().int().min(1).max(2000).default(512),
    leaseSeconds: z.number().int().min(1).default(3600),
    pollSeconds: z.number().positive().default(10),
    // Where onnxruntime runs every graph (onnx/device.ts): cuda needs onnxruntime-node's CUDA provider, which the
    // container installs; the CPU everywhere else.
    device: z.enum(DEVICES).default("cpu"),

    // The reward model, trained each run on every label so far.
    reward: z
      .object({
        // A BERT-style folder (Hugging Face layout, one-output head: prepare's models/reward-base) the first reward model
        // fine-tunes with the pairwise loss; later runs warm-start from the active model. Absent, or not there yet (prepare
        // still running): the first model starts from scratch (`model`). The base keeps the reward input it records.
        baseModel: z.string().optional(),
        // Passes over the whole history. Warm-started (from the active model or the base), a few suffice: the labels are a
        // few hundred groups, and more passes overfit them (held-out accuracy peaks by epoch 2–3 in the loop benchmark).
        epochs: z.number().int().min(1).default(3),
        // Reviews are short; 64 tokens hold prompt + completion for the loop's 24-token continuations (and the base's
        // classifier was trained at 64).
        maxLength: z.number().int().min(16).max(512).default(64),
        // Continuing the active model or the pretrained base: a smaller step than from scratch (1e-3) keeps what it
        // learned. Not BERT-base's ~2e-5: the base is a small encoder (prepare's 1 × 64) and Adam at 3e-4 is what moved the
        // sentiment-pretrained model to 0.884 on rank_dev (docs/trainer.md). Training is on the onnxruntime engine without
        // dropout (reward-phase.ts): the history is small, and early stopping on the validation split does dropout's job.
        warmLearningRate: z.number().positive().default(3e-4),
        // Benchmarks only: with no active model and a base, also train a from-scratch candidate on the same labels and
        // report its held-out accuracy beside the base's (`scratch_held_out_accuracy`); never published.
        compareWithScratch: z.boolean().default(false),
        // Benchmarks only: other base folders to fine-tune on the same labels in that first run (as the base is), each
        // scored on the same held-out pairs (`compared_held_out_accuracy/<folder name>`); never published. This is how
        // prepare's choice of base (the classifier) is measured against e.g. a sentiment-pretrained encoder.
        compareWithBases: z.array(z.string()).default([]),
        // From scratch (no reward model active yet): small, so the first run takes seconds, not minutes.
        model: z
          .object({
            hiddenSize: z.number().int().default(64),
            layers: z.number().int().default(1),
            heads: z.number().int().default(2),
            intermediateSize: z.number().int().default(256),
          })
          .strict()
          .prefault({}),
        // Below these many pairs the run trains nothing and gives its labels back: a gate on 3 pairs is a coin toss.
        minTrainPairs: z.number().int().min(1).default(12),
        minHeldOutPairs: z.number().int().min(1).default(12),
        // The candidate is activated if its held-out accuracy ≥ the active model's − tolerance (same pairs, same run).
        tolerance: z.number().min(0).max(1).default(0),
        // With no active model, the first candidate must beat chance by this much.
        firstModelMinAccuracy: z.number().min(0).max(1).default(0.55),
        // Weight each rater's pairs by their estimated reliability (preferences/reliability.ts); false: every pair counts 1.
        weightByReliability: z.boolean().default(true),
      })
      .strict()
      // Each field's default above, once (prefault parses {} through the schema).
      .prefault({}),

    // Which algorithm turns a run's labels into a policy (policy-phase.ts), each against the fixed reference and
    // through the same gate (the KL budget and distinct-2 floor under `ppo`).
    policy: z
      .object({
        // ppo: the live reward model, a value head (trl's PPO); grpo: the live reward model, groups of samples per
        // prompt and no value head; dpo: the run's preference pairs straight into the policy, no reward model.
        // DPO is the default: with its KL stop (policy.dpo.stopAtKl, 9258837) it gained the most gold within the KL budget
        // in the second real-review comparison (docs/benchmarks.md; 8 runs each from the same start): 1.131 after run 3
        // against GRPO's 0.782 and PPO's 0.723 at their best, from -0.321, a lead of about four standard errors (~0.09). In
        // the first comparison, before the stop, its policies passed the budget from run 4 and it came last. GRPO led PPO
        // by +0.06 in both comparisons (under one standard error); PPO keeps improving over runs. DPO costs about twice
        // GRPO's training CPU a run and needs no live reward model (the run still trains one for tasks and /v1/score).
        algorithm: z.enum(["ppo", "grpo", "dpo"]).default("dpo"),
        // GRPO's settings; its steps a run are ppo.steps, and it stops early at ppo.stopAtKlShare of the budget as PPO does.
        grpo: GrpoConfigSchema.default(GrpoConfigSchema.parse({ batchSize: 32, miniBatchSize: 8, generation: { maxNewTokens: 24 } })),
        // DPO's settings: epochs over the pairs of the run's training and validation examples (held-out pairs measure it).
        // Its KL stop samples as PPO's rollouts do (24 new tokens) and, unless dpo.stopAtKl is set, stops at
        // ppo.stopAtKlShare of the budget as PPO and GRPO do.
        dpo: DpoConfigSchema.default(DpoConfigSchema.parse({ generation: { maxNewTokens: 24 } })),
      })
      .strict()
      .prefault({}),

    // PPO on the active policy with the active reward model, against the fixed reference. `steps` (0 skips the
    // policy phase, whichever algorithm), `klBudget`, `minDistinct2Share`, `stopAtKlShare` and `evalSamples` apply
    // to every policy.algorithm.
    ppo: z
      .object({
        // PPO steps (batches) per run; 0 skips PPO.
        steps: z.number().int().min(0).default(10),
        config: PpoConfigSchema.default(PpoConfigSchema.parse({ batchSize: 32, miniBatchSize: 8, targetKl: 4, generation: { maxNewTokens: 24 } })),
        // The new policy is rejected if its KL to the reference (nats per sample) passes this budget...
        klBudget: z.number().positive().default(8),
        // ...or its samples' distinct-2 falls below this share of the reference's (a collapse onto a few sentences).
        minDistinct2Share: z.number().min(0).max(1).default(0.8),
        // PPO stops early once a batch's KL passes this share of the budget: the policy ends near the budget, not over it.
        stopAtKlShare: z.number().positive().max(1).default(0.75),
        // Fresh samples each gate measures, from a seed of its own. 128: the improvement gate below compares two policies'
        // mean rewards on them, and with rewards in standard deviations the paired difference's standard error is ~0.1 at
        // 128 (a PPO run's gain is a few tenths); sampling 128 continuations takes about a second on 2 cores.
        evalSamples: z.number().int().min(8).max(1024).default(128),
        // The candidate must beat the active policy on the same prompts and seed, scored by the live reward model: mean
        // paired difference > minImprovementZ × its standard error. 1.645 is a one-sided 5% test; 0 asks only for a
        // higher mean. The gold (the raters' own taste) is never the trainer's to see.
        minImprovementZ: z.number().min(0).default(1.645),
      })
      .strict()
      .prefault({}),

    // The policy the loop starts from when no policy checkpoint is active (prepare's); also the KL reference unless an admin marked one.
    fallbackPolicyDir: z.string().optional(),
    // Fresh continuations per active prompt after each run, so raters always have new work.
    completionsPerPrompt: z.number().int().min(0).max(16).default(4),
  })
  .strict();
export type DaemonConfig = z.input<typeof DaemonConfigSchema>;
export type DaemonSettings = z.infer<typeof DaemonConfigSchema>;
