import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { samplingBannedTokens } from "../generation/banned-tokens.ts";
import { readGpt2Dir, writeGpt2Dir } from "../io/gpt2-dir.ts";
import { exportGpt2Onnx } from "../onnx/export-gpt2.ts";
import { seededRandom, shuffled } from "../util/random.ts";
import { dpoMetrics } from "../engine/dpo-loss.ts";
import type { DpoConfig } from "./config.ts";
import { tokenizePair, type TextPair } from "./pairs.ts";
import { OnnxDpoTrainer, type DpoStats } from "./trainer.ts";

export interface DpoRunOptions {
  policyDir: string;
  /** The fixed policy the implicit rewards are measured against (same architecture); none: the policy as it starts. */
  referenceDir?: string;
  pairs: readonly TextPair[];
  /** Pairs it never trains on, measured before and after (their rewards/accuracies: the implicit reward's held-out accuracy). */
  evalPairs?: readonly TextPair[];
  out: string;
  logsDir: string;
  runName: string;
  dpo: DpoConfig;
  /**
   * The prompts DPO's KL stop (dpo.stopAtKl) samples continuations of, in turn; none: the
   * pairs' own prompts. The daemon's policy gate refuses a policy over its KL budget, and
   * DPO has nothing else holding the policy near the reference over a long label history.
   */
  klPrompts?: readonly string[];
}

export interface DpoRunResult {
  /** Each epoch's trl metrics, averaged over its steps. */
  epochs: Record<string, number>[];
  /** The last epoch's, with `eval/…` and `eval_before/…` on the held-out pairs when given. */
  metrics: Record<string, number>;
  steps: number;
  pairs: number;
  /** The last KL to the reference the stop measured (nats per sample), when it measured one. */
  klToReference?: number;
  /** True when the KL stop ended the run before its last epoch's last step. */
  stoppedEarly: boolean;
}

const KEYS = ["loss", "rewardsChosen", "rewardsRejected", "accuracy", "margin", "logpsChosen", "logpsRejected"] as const;

/**
 * DPO on a GPT-2 folder from preference pairs: the reference's log-probabilities once,
 * then `epochs` shuffled passes of `batchSize` pairs a step on the onnxruntime engine,
 * trl's metrics per epoch as JSONL under logsDir, and the policy saved to `out` (its
 * value head, if it has one, kept as it was) with metrics.json and dpo_config.json.
 */
export async function trainDpo(options: DpoRunOptions, log: (line: string) => void = console.log): Promise<DpoRunResult> {
  if (options.pairs.length === 0) throw new Error("DPO: no preference pairs to train on");
  const policy = readGpt2Dir(options.policyDir);
  let referenceWeights: Map<string, Float32Array> | undefined;
  if (options.referenceDir) {
    const reference = readGpt2Dir(options.referenceDir, { valueHead: false });
    if (reference.tokenizer.size !== policy.tokenizer.size)
      throw new Error(`DPO reference ${options.referenceDir}: vocabulary of ${reference.tokenizer.size} tokens, the policy's has ${policy.tokenizer.size}`);
    referenceWeights = reference.weights;
  }
  const cfg = options.dpo;
  const limits = { maxPromptLength: cfg.maxPromptLength, maxLength: Math.min(cfg.maxLength, policy.config.n_positions) };
  const tokenize = (pairs: readonly TextPair[]) => pairs.map((p) => tokenizePair(policy.tokenizer, p, limits));
  const pairs = tokenize(options.pairs.slice(-cfg.maxPairs));
  const evalPairs = options.evalPairs?.length ? tokenize(options.evalPairs) : [];
  const trainer = await OnnxDpoTrainer.create(policy, cfg, {
    ...(referenceWeights ? { referenceWeights } : {}),
    bannedTokens: samplingBannedTokens(policy.tokenizer),
  });
  const metricsPath = join(options.logsDir, `${options.runName}.jsonl`);
  mkdirSync(options.logsDir, { recursive: true });
  writeFileSync(metricsPath, "");
  log(
    `DPO on ${options.policyDir}${options.referenceDir ? ` (reference ${options.referenceDir})` : ""}: ${pairs.length} pairs, ${cfg.epochs} epoch(s) of ${Math.ceil(pairs.length / cfg.batchSize)} steps, β ${cfg.beta}`,
  );
  try {
    const reference = await trainer.referenceLogprobs(pairs);
    const evalReference = evalPairs.length ? await trainer.referenceLogprobs(evalPairs) : undefined;
    const before = evalReference ? await trainer.evaluate(evalPairs, evalReference) : undefined;
    const random = seededRandom(cfg.seed + 7);
    const epochs: Record<string, number>[] = [];
    let steps = 0;
    const bannedTokens = samplingBannedTokens(policy.tokenizer);
    const klPrompts = options.klPrompts?.length ? options.klPrompts : options.pairs.map((p) => p.prompt);
    const klQueries = Array.from({ length: cfg.klCheckSamples }, (_, i) => [
      policy.tokenizer.cls,
      ...policy.tokenizer.encodeText(klPrompts[i % klPrompts.length]!).slice(-(cfg.maxPromptLength - 1)),
    ]);
    let klToReference: number | undefined;
    let stoppedEarly = false;
    for (let epoch = 1; epoch <= cfg.epochs && !stoppedEarly; epoch++) {
      const order = shuffled([...pairs.keys()], random);
      const sum = Object.fromEntries(KEYS.map((k) => [k, 0])) as Record<(typeof KEYS)[number], number>;
      let batches = 0;
      for (let start = 0; start < order.length; start += cfg.batchSize) {
        const idx = order.slice(start, start + cfg.batchSize);
        const stats = await trainer.step(
          idx.map((i) => pairs[i]!),
          { chosen: idx.map((i) => reference.chosen[i]!), rejected: idx.map((i) => reference.rejected[i]!) },
        );
        for (const k of KEYS) sum[k] += stats[k];
        batches++;
        steps++;
        if (cfg.stopAtKl !== undefined && steps % cfg.klCheckEvery === 0) {
          // A seed per check: a fixed one would measure the same draws' KL each time.
          klToReference = await trainer.klToReference(klQueries, { ...cfg.generation, seed: cfg.generation.seed + steps, bannedTokens });
          if (klToReference > cfg.stopAtKl) {
            log(`stopping after step ${steps}: KL to the reference ${klToReference.toFixed(3)} passed ${cfg.stopAtKl}`);
            stoppedEarly = true;
            break;
          }
        }
      }
      const mean = Object.fromEntries(KEYS.map((k) => [k, sum[k] / batches])) as DpoStats;
      const row = { epoch, ...dpoMetrics(mean) };
      epochs.push(row);
      appendFileSync(metricsPath, `${JSON.stringify(row)}\n`);
      log(
        `epoch ${epoch} loss: ${mean.loss.toFixed(4)}  (rewards/margins ${mean.margin.toFixed(4)}, rewards/accuracies ${mean.accuracy.toFixed(3)}, logps/chosen ${mean.logpsChosen.toFixed(2)})`,
      );
    }
    const after = evalReference ? await trainer.evaluate(evalPairs, evalReference) : undefined;
    if (before && after)
      log(
        `held-out pairs (${evalPairs.length}): rewards/accuracies ${before.accuracy.toFixed(4)} → ${after.accuracy.toFixed(4)}, loss ${before.loss.toFixed(4)} → ${after.loss.toFixed(4)}`,
      );
    const metrics: Record<string, number> = {
      ...epochs.at(-1)!,
      ...(before ? dpoMetrics(before, "eval_before/") : {}),
      ...(after ? dpoMetrics(after, "eval/") : {}),
      steps,
      pairs: pairs.length,
      ...(klToReference !== undefined ? { "objective/kl": klToReference } : {}),
    };
    writeGpt2Dir(options.out, policy, {
      "metrics.json": metrics,
      "dpo_config.json": { ...cfg, steps, pairs: pairs.length, reference: options.referenceDir ?? options.policyDir },
    });
    exportGpt2Onnx(options.out, policy);
    log(`policy saved to ${options.out}; metrics in ${metricsPath}`);
    return { epochs, metrics, steps, pairs: pairs.length, ...(klToReference !== undefined ? { klToReference } : {}), stoppedEarly };
  } finally {
    await trainer.dispose();
  }
}
