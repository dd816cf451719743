import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { samplingBannedTokens } from "../generation/banned-tokens.ts";
import { sampleRollouts } from "../generation/rollout.ts";
import { readGpt2Dir, writeGpt2Dir } from "../io/gpt2-dir.ts";
import { distinct2 } from "../metrics/diversity.ts";
import { exportGpt2Onnx } from "../onnx/export-gpt2.ts";
import type { RewardFunction } from "../reward-functions/reward-function.ts";
import { createProgress } from "../util/progress.ts";
import { seededRandom } from "../util/random.ts";
import { GrpoConfigSchema } from "./config.ts";
import { OnnxGrpoTrainer, type GrpoStats } from "./trainer.ts";

export const GrpoRunSchema = z
  .object({
    policyDir: z.string(),
    // The fixed policy KL is measured and penalised against (same architecture); none: the policy as it starts.
    referenceDir: z.string().optional(),
    // Stop early once a batch's KL to the reference (Σ over a sample's tokens, as PPO's objective/kl) passes this.
    stopAtKl: z.number().positive().optional(),
    // GRPO steps; called epochs as in `ppo demo`.
    epochs: z.number().int().min(1).default(40),
    prompts: z.array(z.string().min(1)).min(1),
    out: z.string(),
    logsDir: z.string().default("logs"),
    runName: z
      .string()
      .regex(/^[\w.-]+$/)
      .default("GRPO-Sentiment-Zh"),
    grpo: GrpoConfigSchema,
    samplesShown: z.number().int().min(0).default(5),
    quiet: z.boolean().default(false),
  })
  .strict();
export type GrpoRunOptions = z.input<typeof GrpoRunSchema>;

export interface GrpoEpochMetrics extends GrpoStats {
  epoch: number;
  distinct2: number;
  seconds: { generation: number; scoring: number; optimisation: number };
}

/**
 * trl's GRPOTrainer names for a step's figures (`objective/kl` and `samples/distinct_2`
 * as PPO's, so the two compare). A healthy run: `reward` rises; `reward_std` stays above
 * 0 (a group whose completions all score the same teaches nothing); `kl` grows slowly;
 * `clip_ratio` stays small; `entropy` falls slowly.
 */
export const GRPO_TRL = {
  meanReward: "reward",
  rewardStd: "reward_std",
  kl: "kl",
  clipRatio: "clip_ratio",
  meanResponseLength: "completions/mean_length",
  entropy: "entropy",
  loss: "loss",
  sequenceKl: "objective/kl",
  distinct2: "samples/distinct_2",
} as const;

export function grpoTrlMetrics(m: GrpoEpochMetrics): Record<string, number> {
  return {
    epoch: m.epoch,
    ...Object.fromEntries(Object.entries(GRPO_TRL).map(([key, name]) => [name, m[key as keyof typeof GRPO_TRL]])),
    "time/generation": m.seconds.generation,
    "time/scoring": m.seconds.scoring,
    "time/optimization": m.seconds.optimisation,
  };
}

/**
 * GRPO on a GPT-2 that continues review prompts, rewarded by `reward` (`grpo demo`: the
 * sentiment classifier; the loop's policy phase: the live reward model): each epoch draws
 * batchSize / groupSize prompts, samples groupSize completions of each on onnxruntime,
 * scores them and takes one GRPO step (grpo/trainer.ts). Prints `epoch N mean-reward: X`,
 * writes trl-named metrics as JSONL under logsDir and saves the policy to `out` (a value
 * head it has is kept as it was).
 */
export async function trainGrpo(input: GrpoRunOptions, reward: RewardFunction, log: (line: string) => void = console.log): Promise<GrpoEpochMetrics[]> {
  const options = GrpoRunSchema.parse(input);
  const cfg = options.grpo;
  const policy = readGpt2Dir(options.policyDir);
  const tok = policy.tokenizer;
  let referenceWeights: Map<string, Float32Array> | undefined;
  if (options.referenceDir) {
    const reference = readGpt2Dir(options.referenceDir, { valueHead: false });
    if (reference.tokenizer.size !== tok.size)
      throw new Error(`GRPO reference ${options.referenceDir}: vocabulary of ${reference.tokenizer.size} tokens, the policy's has ${tok.size}`);
    referenceWeights = reference.weights;
  }
  const bannedTokens = samplingBannedTokens(tok);
  const trainer = await OnnxGrpoTrainer.create(policy, cfg, { ...(referenceWeights ? { referenceWeights } : {}), bannedTokens });
  const random = seededRandom(cfg.seed + 5);
  const metricsPath = join(options.logsDir, `${options.runName}.jsonl`);
  mkdirSync(options.logsDir, { recursive: true });
  writeFileSync(metricsPath, "");
  const history: GrpoEpochMetrics[] = [];
  const k = cfg.groupSize;
  log(
    `GRPO on ${options.policyDir}${options.referenceDir ? ` (reference ${options.referenceDir})` : ""} with ${reward.name}; ${options.epochs} epochs × ${cfg.batchSize / k} prompts × ${k} completions, advantages ${cfg.advantage}`,
  );
  const progress = createProgress(options.epochs, "grpo", options.quiet, log);
  try {
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      // 1. Rollouts: batchSize / k prompts drawn at random, each continued k times.
      let t = performance.now();
      const drawn = Array.from({ length: cfg.batchSize / k }, () => options.prompts[Math.floor(random() * options.prompts.length)]!);
      const prompts = drawn.flatMap((p) => new Array<string>(k).fill(p));
      const queries = prompts.map((p) => [tok.cls, ...tok.encodeText(p)]);
      const { responses, texts } = await sampleRollouts(tok, await trainer.decoder(), queries, {
        ...cfg.generation,
        seed: cfg.generation.seed + epoch,
        bannedTokens,
      });
      const generation = (performance.now() - t) / 1000;

      // 2. Rewards; a group with a sample left unscored (not finite) is left out whole.
      t = performance.now();
      const scores = await reward.score(prompts.map((prompt, i) => ({ prompt, response: texts[i]! })));
      const scoring = (performance.now() - t) / 1000;
      const kept = prompts.flatMap((_, i) => (i % k === 0 && scores.slice(i, i + k).every(Number.isFinite) ? Array.from({ length: k }, (_, j) => i + j) : []));
      if (kept.length === 0) {
        progress.log(`epoch ${epoch}: no group was fully scored; no update`);
        continue;
      }

      // 3. The GRPO step.
      t = performance.now();
      const stats = await trainer.step(
        kept.map((i) => queries[i]!),
        kept.map((i) => responses[i]!),
        kept.map((i) => scores[i]!),
      );
      const optimisation = (performance.now() - t) / 1000;
      const metrics: GrpoEpochMetrics = { epoch, ...stats, distinct2: distinct2(texts), seconds: { generation, scoring, optimisation } };
      history.push(metrics);
      appendFileSync(metricsPath, `${JSON.stringify(grpoTrlMetrics(metrics))}\n`);
      progress.log(
        `epoch ${epoch} mean-reward: ${stats.meanReward.toFixed(4)}  (reward_std ${stats.rewardStd.toFixed(3)}, KL ${stats.sequenceKl.toFixed(3)}, distinct-2 ${metrics.distinct2.toFixed(2)}, clip ${stats.clipRatio.toFixed(3)}, entropy ${stats.entropy.toFixed(2)}, ${(generation + scoring + optimisation).toFixed(1)} s)`,
      );
      if (options.samplesShown > 0) {
        progress.log(`Random Sample ${options.samplesShown} text(s) of model output:`);
        const shown = [...prompts.keys()].sort(() => random() - 0.5).slice(0, options.samplesShown);
        shown.forEach((i, n) => progress.log(`${n + 1}. ${prompts[i]}${texts[i]}  [${scores[i]!.toFixed(3)}]`));
      }
      progress.update(epoch);
      if (options.stopAtKl !== undefined && stats.sequenceKl > options.stopAtKl) {
        progress.log(`stopping after epoch ${epoch}: KL to the reference ${stats.sequenceKl.toFixed(3)} passed ${options.stopAtKl}`);
        break;
      }
    }
  } finally {
    progress.stop();
  }
  const last = history.at(-1);
  writeGpt2Dir(options.out, policy, {
    "metrics.json": last ? grpoTrlMetrics(last) : {},
    "grpo_config.json": { ...cfg, steps: history.length, reference: options.referenceDir ?? options.policyDir },
  });
  exportGpt2Onnx(options.out, policy);
  log(`policy saved to ${options.out}; metrics in ${metricsPath}`);
  await trainer.dispose();
  return history;
}
