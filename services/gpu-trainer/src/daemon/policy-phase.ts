import { existsSync } from "node:fs";
import { join } from "node:path";
import { fetchActiveCheckpoint, fetchCheckpoint } from "../checkpoints/fetch.ts";
import { publishCheckpoint, type Published } from "../checkpoints/publish.ts";
import type { TrainerApi } from "../ranklab-api.ts";
import { modelReward, rewardScaleOf } from "../reward-functions/model-rewards.ts";
import type { DaemonSettings } from "./config.ts";
import { improvementGate, pairedImprovement, policyGate, type Improvement, type Verdict } from "./gates.ts";
import { trainPolicy, type PolicyAlgorithm, type PolicyTrainingInput } from "./policy-algorithms.ts";
import { evaluatePolicy, type PolicyEvaluation } from "./policy-eval.ts";

export interface PolicyRef {
  dir: string;
  checkpointId: number | null;
  /** The checkpoint's version, what log lines name (ids are the API's); null for the fallback. */
  version?: number | null;
  metrics: Record<string, unknown>;
}

/** The policy to continue from: the active policy checkpoint, or else the fallback folder (prepare's) when it is complete. */
export async function currentPolicy(api: TrainerApi, config: DaemonSettings): Promise<PolicyRef | undefined> {
  const active = await fetchActiveCheckpoint(api, "policy", config.home);
  if (active) return { dir: active.dir, checkpointId: active.ref.id, version: active.ref.version, metrics: active.metrics };
  if (config.fallbackPolicyDir && existsSync(join(config.fallbackPolicyDir, "config.json")))
    return { dir: config.fallbackPolicyDir, checkpointId: null, metrics: {} };
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
  algorithm: PolicyAlgorithm;
  published: Published;
  verdict: Verdict;
  evaluation: PolicyEvaluation;
  metrics: Record<string, number>;
}

/**
 * The policy's part of a run: the configured algorithm (policy-algorithms.ts: PPO or GRPO
 * with the live reward model, or DPO on the run's preference pairs) trains the active
 * policy against the fixed reference; then fresh samples measure KL to the reference and
 * distinct-2, the live reward model scores the candidate's samples against the active
 * policy's on the same prompts and seed, and the policy is published, activated only if
 * it passes both gates (gates.ts), the same gates whichever algorithm trained it.
 */
export async function policyPhase(
  ctx: { api: TrainerApi; config: DaemonSettings; runId: number; runDir: string; log: (line: string) => void },
  inputs: { reward?: { dir: string; checkpointId: number }; preferences: PolicyTrainingInput["preferences"] },
): Promise<PolicyPhaseResult | undefined> {
  const { api, config, runId, runDir, log } = ctx;
  const algorithm = config.policy.algorithm;
  const current = await currentPolicy(api, config);
  if (!current) {
    log(`run ${runId}: no policy to improve (none active, no fallback); skipping ${algorithm}`);
    return undefined;
  }
  const reference = await referencePolicy(api, config, current);
  const prompts = (await api.activePrompts()).map((p) => p.text);
  if (prompts.length === 0) {
    log(`run ${runId}: no active prompts; skipping ${algorithm}`);
    return undefined;
  }
  const out = join(runDir, "policy");
  const trained = await trainPolicy(algorithm, {
    config,
    runId,
    current,
    referenceDir: reference.dir,
    prompts,
    out,
    logsDir: join(runDir, "logs"),
    ...(inputs.reward ? { reward: inputs.reward } : {}),
    preferences: inputs.preferences,
  });
  // The gates' fresh samples: the candidate's and the active policy's on the same prompts and seed.
  const gateOptions = { samples: config.ppo.evalSamples, sampling: { ...config.ppo.config.generation, seed: 1_000_003 + runId } };
  const evaluation = await evaluatePolicy(out, reference.dir, prompts, gateOptions);
  const improvement = inputs.reward ? await improvementOver(inputs.reward.dir, current.dir, evaluation, reference.dir, prompts, gateOptions) : undefined;
  // Within the KL budget and diverse, then better than the active policy by a margin the samples can detect (judged
  // by the live reward model; a DPO run before any reward model exists has only the first gate).
  const bounds = policyGate(evaluation, config.ppo);
  const verdict = bounds.activate && improvement ? improvementGate(improvement, config.ppo) : bounds;
  const metrics: Record<string, number> = {
    ...trained.metrics,
    [`algorithm/${algorithm}`]: 1,
    ...(improvement
      ? {
          "eval/reward_mean": improvement.candidateMean,
          "eval/active_reward_mean": improvement.activeMean,
          "eval/reward_difference_se": improvement.standardError,
        }
      : {}),
    "eval/kl_to_reference": evaluation.klToReference,
    "eval/distinct_2": evaluation.distinct2,
    "eval/reference_distinct_2": evaluation.referenceDistinct2,
    "eval/response_chars_mean": evaluation.meanChars,
    steps: trained.steps,
  };
  const published = await publishCheckpoint(api, out, {
    kind: "policy",
    metrics,
    config: {
      algorithm,
      ...trained.settings,
      steps: trained.steps,
      reference: reference.checkpointId ?? reference.dir,
      started_from: current.checkpointId ?? current.dir,
      reward_checkpoint: inputs.reward?.checkpointId ?? null,
    },
    trainingRunId: runId,
    ...(verdict.activate ? { activate: true } : { rejectedReason: verdict.reason }),
  });
  const gateFigures = improvement
    ? `, gate reward ${improvement.candidateMean.toFixed(3)} vs active ${improvement.activeMean.toFixed(3)} (SE of the difference ${improvement.standardError.toFixed(3)})`
    : "";
  const figures = `KL to the reference ${evaluation.klToReference.toFixed(3)}, distinct-2 ${evaluation.distinct2.toFixed(3)} (reference ${evaluation.referenceDistinct2.toFixed(3)}), mean reward ${trained.meanReward?.toFixed(3) ?? "-"}${gateFigures}`;
  log(
    verdict.activate
      ? `run ${runId}: policy checkpoint v${published.version} (${algorithm}) active (${figures})`
      : `run ${runId}: policy checkpoint v${published.version} (${algorithm}) rejected: ${verdict.reason} (${figures})`,
  );
  return { algorithm, published, verdict, evaluation, metrics };
}

/**
 * The improvement gate's figures: the live reward model (normalised by its own scale) scores the candidate's gate
 * samples and the active policy's, drawn with the same prompts and seed.
 */
async function improvementOver(
  rewardDir: string,
  activeDir: string,
  candidate: PolicyEvaluation,
  referenceDir: string,
  prompts: string[],
  gateOptions: Parameters<typeof evaluatePolicy>[3],
): Promise<Improvement> {
  const active = await evaluatePolicy(activeDir, referenceDir, prompts, gateOptions);
  const reward = await modelReward(rewardDir, { normalize: rewardScaleOf(rewardDir) !== undefined });
  try {
    const rewardsOf = (e: PolicyEvaluation) => reward.score(e.samples.map((response, i) => ({ prompt: prompts[i % prompts.length]!, response })));
    return pairedImprovement(await rewardsOf(candidate), await rewardsOf(active));
  } finally {
    await reward.close?.();
  }
}
