import { existsSync } from "node:fs";
import { join } from "node:path";
import { fetchActiveCheckpoint, fetchCheckpoint } from "../checkpoints/fetch.ts";
import { publishCheckpoint, type Published } from "../checkpoints/publish.ts";
import { trainPpo, type EpochMetrics } from "../ppo/train.ts";
import { TRL, trlMetrics } from "../ppo/trl-metrics.ts";
import type { TrainerApi } from "../ranklab-api.ts";
import { modelReward, rewardScaleOf } from "../reward-functions/model-rewards.ts";
import type { DaemonSettings } from "./config.ts";
import { improvementGate, pairedImprovement, policyGate, type Improvement, type Verdict } from "./gates.ts";
import { evaluatePolicy, type PolicyEvaluation } from "./policy-eval.ts";

export interface PolicyRef {
  dir: string;
  checkpointId: number | null;
  metrics: Record<string, unknown>;
}

/** The policy to continue from: the active policy checkpoint, or else the fallback folder (prepare's) when it is complete. */
export async function currentPolicy(api: TrainerApi, config: DaemonSettings): Promise<PolicyRef | undefined> {
  const active = await fetchActiveCheckpoint(api, "policy", config.home);
  if (active) return { dir: active.dir, checkpointId: active.ref.id, metrics: active.metrics };
  if (config.fallbackPolicyDir && existsSync(join(config.fallbackPolicyDir, "config.json"))) return { dir: config.fallbackPolicyDir, checkpointId: null, metrics: {} };
  return undefined;
}

/**
 * The fixed policy every run's KL is measured against: the checkpoint an admin marked as
 * the reference; else the policy the loop started from (the fallback folder, prepare's);
 * else the first policy checkpoint ever published; else the current one.
 */
export async function referencePolicy(api: TrainerApi, config: DaemonSettings, current: PolicyRef): Promise<{ dir: string; checkpointId: number | null }> {
  const marked = await api.referenceCheckpoint("policy");
  if (marked) return { dir: (await fetchCheckpoint(api, marked, config.home)).dir, checkpointId: marked.id };
  if (config.fallbackPolicyDir && existsSync(join(config.fallbackPolicyDir, "config.json"))) return { dir: config.fallbackPolicyDir, checkpointId: null };
  const first = (await api.checkpoints("policy")).items.filter((c) => c.status === "ready").sort((a, b) => a.version - b.version)[0];
  if (first) return { dir: (await fetchCheckpoint(api, first, config.home)).dir, checkpointId: first.id };
  return { dir: current.dir, checkpointId: current.checkpointId };
}

export interface PolicyPhaseResult {
  published: Published;
  verdict: Verdict;
  evaluation: PolicyEvaluation;
  metrics: Record<string, number>;
}

/**
 * The policy's part of a run: PPO from the active policy with the live reward model
 * (rewards normalised by its own scale), KL penalised against the fixed reference and β
 * carried over from the last run; then fresh samples measure KL to the reference and
 * distinct-2, the live reward model scores its samples against the active policy's on
 * the same prompts and seed, and the policy is published, activated only if it passes
 * both gates (gates.ts).
 */
export async function policyPhase(
  ctx: { api: TrainerApi; config: DaemonSettings; runId: number; runDir: string; log: (line: string) => void },
  rewardDir: string,
  rewardCheckpointId: number,
): Promise<PolicyPhaseResult | undefined> {
  const { api, config, runId, runDir, log } = ctx;
  const current = await currentPolicy(api, config);
  if (!current) {
    log(`run ${runId}: no policy to improve (none active, no fallback); skipping PPO`);
    return undefined;
  }
  const reference = await referencePolicy(api, config, current);
  const prompts = (await api.activePrompts()).map((p) => p.text);
  if (prompts.length === 0) {
    log(`run ${runId}: no active prompts; skipping PPO`);
    return undefined;
  }
  const reward = await modelReward(rewardDir, { normalize: rewardScaleOf(rewardDir) !== undefined });
  const previousBeta = current.metrics[TRL.klCoef];
  const out = join(runDir, "policy");
  let history: EpochMetrics[];
  let evaluation: PolicyEvaluation;
  let improvement: Improvement;
  try {
    history = await trainPpo(
      {
        policyDir: current.dir,
        referenceDir: reference.dir,
        ...(typeof previousBeta === "number" && previousBeta > 0 ? { klCoef: previousBeta } : {}),
        epochs: config.ppo.steps,
        stopAtKl: config.ppo.stopAtKlShare * config.ppo.klBudget,
        prompts,
        out,
        logsDir: join(runDir, "logs"),
        runName: "ppo",
        engine: "onnx",
        samplesShown: 0,
        quiet: true,
        ppo: { ...config.ppo.config, seed: config.ppo.config.seed + runId },
      },
      reward,
      () => {},
    );
    // The gates' fresh samples: the candidate's and the active policy's on the same prompts and seed.
    const gateOptions = { samples: config.ppo.evalSamples, sampling: { ...config.ppo.config.generation, seed: 1_000_003 + runId } };
    evaluation = await evaluatePolicy(out, reference.dir, prompts, gateOptions);
    const activeEvaluation = await evaluatePolicy(current.dir, reference.dir, prompts, gateOptions);
    const rewardsOf = (e: PolicyEvaluation) => reward.score(e.samples.map((response, i) => ({ prompt: prompts[i % prompts.length]!, response })));
    improvement = pairedImprovement(await rewardsOf(evaluation), await rewardsOf(activeEvaluation));
  } finally {
    await reward.close?.();
  }
  // Within the KL budget and diverse, then better than the active policy by a margin the samples can detect.
  const bounds = policyGate(evaluation, config.ppo);
  const verdict = bounds.activate ? improvementGate(improvement, config.ppo) : bounds;
  const last = history.at(-1);
  const metrics: Record<string, number> = {
    ...(last ? trlMetrics(last) : {}),
    "eval/reward_mean": improvement.candidateMean,
    "eval/active_reward_mean": improvement.activeMean,
    "eval/reward_difference_se": improvement.standardError,
    "eval/kl_to_reference": evaluation.klToReference,
    "eval/distinct_2": evaluation.distinct2,
    "eval/reference_distinct_2": evaluation.referenceDistinct2,
    "eval/response_chars_mean": evaluation.meanChars,
    steps: history.length,
  };
  const published = await publishCheckpoint(api, out, {
    kind: "policy",
    metrics,
    config: { ppo: config.ppo.config, steps: history.length, reference: reference.checkpointId ?? reference.dir, started_from: current.checkpointId ?? current.dir, reward_checkpoint: rewardCheckpointId },
    trainingRunId: runId,
    ...(verdict.activate ? { activate: true } : { rejectedReason: verdict.reason }),
  });
  const figures = `KL to the reference ${evaluation.klToReference.toFixed(3)}, distinct-2 ${evaluation.distinct2.toFixed(3)} (reference ${evaluation.referenceDistinct2.toFixed(3)}), mean reward ${last?.meanReward.toFixed(3) ?? "-"}, gate reward ${improvement.candidateMean.toFixed(3)} vs active ${improvement.activeMean.toFixed(3)} (SE of the difference ${improvement.standardError.toFixed(3)})`;
  log(verdict.activate ? `run ${runId}: policy checkpoint v${published.version} active (${figures})` : `run ${runId}: policy checkpoint v${published.version} rejected: ${verdict.reason} (${figures})`);
  return { published, verdict, evaluation, metrics };
}
