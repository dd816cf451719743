import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { sampleRollouts } from "../generation/rollout.ts";
import { readGpt2Dir, saveGpt2Dir, writeGpt2Dir } from "../io/gpt2-dir.ts";
import { savePlotPng } from "../metrics/plot.ts";
import { gpt2ParamSpecs } from "../models/gpt2.ts";
import { disposeParams, paramsFromStore } from "../models/params.ts";
import { exportGpt2Onnx } from "../onnx/export-gpt2.ts";
import type { RewardFunction } from "../reward-functions/reward-function.ts";
import { createProgress } from "../util/progress.ts";
import { seededRandom } from "../util/random.ts";
import { PpoConfigSchema } from "./config.ts";
import { distinct2 } from "../metrics/diversity.ts";
import { PpoTrainer, type PpoStepper } from "./trainer.ts";
import { OnnxPpoTrainer } from "./engine-trainer.ts";
import { trlMetrics, type EpochMetrics } from "./trl-metrics.ts";
import { samplingBannedTokens } from "../generation/banned-tokens.ts";
import { engineField } from "../engine/engine-name.ts";

export const PpoRunSchema = z
  .object({
    policyDir: z.string(),
    // The fixed policy KL is measured and penalised against (same architecture); none: the policy as it starts.
    referenceDir: z.string().optional(),
    // β to start from, e.g. the previous run's (the adaptive controller carries on); none: ppo.initKlCoef.
    klCoef: z.number().min(0).optional(),
    // Stop early once a batch's KL to the reference passes this (the loop passes part of its KL budget), so a run
    // ends within the budget instead of overshooting it and being rejected; none: run every epoch.
    stopAtKl: z.number().positive().optional(),
    // PPO steps; the seed calls each one an epoch.
    epochs: z.number().int().min(1).default(40),
    prompts: z.array(z.string().min(1)).min(1),
    out: z.string(),
    logsDir: z.string().default("logs"),
    runName: z
      .string()
      .regex(/^[\w.-]+$/)
      .default("PPO-Sentiment-Zh"),
    // The engine for all of a step: generation (the policy re-exported after each step), a model reward's scoring
    // (the CLI passes it on) and the PPO optimisation (ppo/engine-trainer.ts: the same stats as tfjs's PpoTrainer,
    // tested). onnxruntime is measured faster for each (`npm run bench ppo-step`); tfjs is the reference and the
    // path for tfjs-node-gpu.
    engine: engineField(),
    ppo: PpoConfigSchema,
    samplesShown: z.number().int().min(0).default(5),
    quiet: z.boolean().default(false),
  })
  .strict();
export type PpoRunOptions = z.infer<typeof PpoRunSchema>;

export type { EpochMetrics } from "./trl-metrics.ts";

function plot(path: string, history: EpochMetrics[]) {
  const series = (name: string, pick: (m: EpochMetrics) => number) => ({ name, points: history.map((m) => ({ x: m.epoch, y: pick(m) })) });
  savePlotPng(path, [
    { title: "mean reward", xLabel: "epoch", series: [series("reward", (m) => m.meanReward)] },
    { title: "KL to the reference", xLabel: "epoch", series: [series("KL", (m) => m.kl)] },
    { title: "entropy per token", xLabel: "epoch", series: [series("entropy", (m) => m.entropy)] },
    { title: "distinct-2 of the samples", xLabel: "epoch", series: [series("distinct-2", (m) => m.distinct2)] },
    { title: "losses", xLabel: "epoch", series: [series("policy", (m) => m.policyLoss), series("value", (m) => m.valueLoss)] },
    { title: "clip fraction", xLabel: "epoch", series: [series("clipfrac", (m) => m.clipFraction)] },
    { title: "KL coefficient β", xLabel: "epoch", series: [series("β", (m) => m.klCoef)] },
  ]);
}

/**
 * PPO on a GPT-2 that continues review prompts, rewarded by `reward`: the seed's step 1
 * (`ppo demo`, the sentiment classifier as reward), step 2 (`ppo human`, a person) and
 * the loop's policy phase (the active reward model). Prints `epoch N mean-reward: X` and
 * samples each epoch, writes trl-named metrics as JSONL and a PNG under logsDir, and
 * saves the final policy (with its PPO config and last metrics) to `out`.
 */
export async function trainPpo(options: PpoRunOptions, reward: RewardFunction, log: (line: string) => void = console.log): Promise<EpochMetrics[]> {
  // One rule picks the engine: the option. onnxruntime trains the checkpoint's weight store in place; tfjs (the
  // reference path) trains variables made from it.
  const loaded = readGpt2Dir(options.policyDir, { valueHead: true, seed: options.ppo.seed });
  const tok = loaded.tokenizer;
  const reference = options.referenceDir ? readGpt2Dir(options.referenceDir, { valueHead: false }) : undefined;
  if (reference && reference.tokenizer.size !== tok.size)
    throw new Error(`PPO reference ${options.referenceDir}: vocabulary of ${reference.tokenizer.size} tokens, the policy's has ${tok.size}`);
  // One list of banned tokens for sampling and for the log-probs PPO trains on (banned-tokens.ts).
  const bannedTokens = samplingBannedTokens(tok);
  const shared = { ...(options.klCoef !== undefined ? { klCoef: options.klCoef } : {}), bannedTokens };
  let trainer: PpoStepper;
  let save: (extra: Record<string, unknown>) => void;
  let release = () => {};
  if (options.engine === "onnx") {
    trainer = await OnnxPpoTrainer.create(loaded, options.ppo, { ...shared, ...(reference ? { referenceWeights: reference.weights } : {}) });
    save = (extra) => {
      writeGpt2Dir(options.out, loaded, extra);
      exportGpt2Onnx(options.out, loaded);
    };
  } else {
    const specs = (valueHead: boolean) => gpt2ParamSpecs(loaded.config, valueHead);
    const { weights, ...base } = loaded;
    const policy = { ...base, params: paramsFromStore(specs(true), weights) };
    trainer = new PpoTrainer(policy, options.ppo, { ...shared, ...(reference ? { reference: paramsFromStore(specs(false), reference.weights) } : {}) });
    save = (extra) => {
      saveGpt2Dir(options.out, policy, extra);
      exportGpt2Onnx(options.out, policy);
    };
    release = () => disposeParams(policy.params);
  }
  const random = seededRandom(options.ppo.seed + 5);
  const metricsPath = join(options.logsDir, `${options.runName}.jsonl`);
  mkdirSync(options.logsDir, { recursive: true });
  writeFileSync(metricsPath, "");
  const history: EpochMetrics[] = [];
  // A person (human-reward.ts) can ask to save and quit.
  const stopRequested = () => (reward as { stopRequested?: boolean }).stopRequested === true;
  log(
    `PPO on ${options.policyDir}${options.referenceDir ? ` (reference ${options.referenceDir})` : ""} with ${reward.name}; ${options.epochs} epochs × ${options.ppo.batchSize} samples, on ${options.engine}`,
  );
  const progress = createProgress(options.epochs, "ppo", options.quiet, log);
  try {
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      // 1. Rollouts: a batch of prompts drawn at random, continued by the current policy.
      let t = performance.now();
      const prompts = Array.from({ length: options.ppo.batchSize }, () => options.prompts[Math.floor(random() * options.prompts.length)]!);
      const queries = prompts.map((p) => [tok.cls, ...tok.encodeText(p)]);
      const sampling = { ...options.ppo.generation, seed: options.ppo.generation.seed + epoch, bannedTokens };
      // The trainer's decoder reads the policy's weights where they train (the engine's arrays, or tfjs's variables).
      const { responses, texts } = await sampleRollouts(tok, await trainer.decoder(), queries, sampling);
      const generation = (performance.now() - t) / 1000;

      // 2. Rewards.
      t = performance.now();
      const scores = await reward.score(prompts.map((prompt, i) => ({ prompt, response: texts[i]! })));
      const scoring = (performance.now() - t) / 1000;

      // 3. The PPO step, on the samples that got a score (a person may skip some).
      const kept = scores.flatMap((s, i) => (Number.isFinite(s) ? [i] : []));
      if (kept.length === 0) {
        progress.log(`epoch ${epoch}: every sample was skipped; no update`);
        if (stopRequested()) break;
        continue;
      }
      t = performance.now();
      const stats = await trainer.step(
        kept.map((i) => queries[i]!),
        kept.map((i) => responses[i]!),
        kept.map((i) => scores[i]!),
      );
      const optimisation = (performance.now() - t) / 1000;

      const metrics: EpochMetrics = { epoch, ...stats, distinct2: distinct2(texts), seconds: { generation, scoring, optimisation } };
      history.push(metrics);
      appendFileSync(metricsPath, `${JSON.stringify(trlMetrics(metrics))}\n`);
      plot(join(options.logsDir, `${options.runName}.png`), history);
      progress.log(
        `epoch ${epoch} mean-reward: ${stats.meanReward.toFixed(4)}  (KL ${stats.kl.toFixed(3)}, distinct-2 ${metrics.distinct2.toFixed(2)}, β ${stats.klCoef.toFixed(3)}, entropy ${stats.entropy.toFixed(2)}, ${(generation + scoring + optimisation).toFixed(1)} s)`,
      );
      if (options.samplesShown > 0) {
        progress.log(`Random Sample ${options.samplesShown} text(s) of model output:`);
        const shown = [...prompts.keys()].sort(() => random() - 0.5).slice(0, options.samplesShown);
        shown.forEach((i, k) => progress.log(`${k + 1}. ${prompts[i]}${texts[i]}  [${scores[i]!.toFixed(3)}]`));
      }
      progress.update(epoch);
      if (options.stopAtKl !== undefined && stats.kl > options.stopAtKl) {
        progress.log(`stopping after epoch ${epoch}: KL to the reference ${stats.kl.toFixed(3)} passed ${options.stopAtKl}`);
        break;
      }
      if (stopRequested()) {
        progress.log("stopping: the rater asked to save and quit");
        break;
      }
    }
  } finally {
    progress.stop();
  }
  const last = history.at(-1);
  save({
    "metrics.json": last ? trlMetrics(last) : {},
    "ppo_config.json": { ...options.ppo, steps: history.length, reference: options.referenceDir ?? options.policyDir },
  });
  log(`policy saved to ${options.out}; metrics in ${metricsPath} and ${join(options.logsDir, `${options.runName}.png`)}`);
  await trainer.dispose();
  release();
  return history;
}
