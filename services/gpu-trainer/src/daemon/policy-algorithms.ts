import { pairsFromRankLists } from "../dpo/pairs.ts";
import { trainDpo } from "../dpo/train.ts";
import { grpoTrlMetrics, trainGrpo } from "../grpo/train.ts";
import { toRankList, type PreferenceExample } from "../preferences/examples.ts";
import type { Split } from "../preferences/split.ts";
import { trainPpo } from "../ppo/train.ts";
import { TRL, trlMetrics } from "../ppo/trl-metrics.ts";
import { modelReward, rewardScaleOf } from "../reward-functions/model-rewards.ts";
import type { DaemonSettings } from "./config.ts";

export type PolicyAlgorithm = DaemonSettings["policy"]["algorithm"];

/** What a run's policy training starts from and writes to, whichever algorithm trains it. */
export interface PolicyTrainingInput {
  config: DaemonSettings;
  runId: number;
  /** The policy to continue (its folder) and the metrics it was published with (PPO carries β over). */
  current: { dir: string; metrics: Record<string, unknown> };
  referenceDir: string;
  prompts: string[];
  out: string;
  logsDir: string;
  /** The live reward model (PPO, GRPO). */
  reward?: { dir: string };
  /** The run's preference examples by split and each one's weight (its rater's reliability) (DPO). */
  preferences: { split: Record<Split, PreferenceExample[]>; weightOf: (e: PreferenceExample) => number | undefined };
}

export interface PolicyTraining {
  /** The run's last figures under the algorithm's trl names. */
  metrics: Record<string, number>;
  /** Optimiser steps (PPO, GRPO: batches; DPO: batches of pairs). */
  steps: number;
  /** The training's mean reward on its last batch, where it has one (PPO, GRPO). */
  meanReward?: number;
  /** The settings it ran with, recorded in the published checkpoint's config. */
  settings: Record<string, unknown>;
}

/** The live reward model as a reward function, normalised by its own scale when it has one. */
async function liveReward(input: PolicyTrainingInput) {
  if (!input.reward) throw new Error(`run ${input.runId}: ${input.config.policy.algorithm} needs a live reward model`);
  return modelReward(input.reward.dir, { normalize: rewardScaleOf(input.reward.dir) !== undefined });
}

/** PPO with the live reward model, β carried over from the last run, stopping early near the KL budget. */
async function runPpo(input: PolicyTrainingInput): Promise<PolicyTraining> {
  const { config, runId } = input;
  const reward = await liveReward(input);
  const previousBeta = input.current.metrics[TRL.klCoef];
  const ppo = { ...config.ppo.config, seed: config.ppo.config.seed + runId };
  try {
    const history = await trainPpo(
      {
        policyDir: input.current.dir,
        referenceDir: input.referenceDir,
        ...(typeof previousBeta === "number" && previousBeta > 0 ? { klCoef: previousBeta } : {}),
        epochs: config.ppo.steps,
        stopAtKl: config.ppo.stopAtKlShare * config.ppo.klBudget,
        prompts: input.prompts,
        out: input.out,
        logsDir: input.logsDir,
        runName: "ppo",
        engine: "onnx",
        ppo,
        samplesShown: 0,
        quiet: true,
      },
      reward,
      () => {},
    );
    const last = history.at(-1);
    return { metrics: last ? trlMetrics(last) : {}, steps: history.length, ...(last ? { meanReward: last.meanReward } : {}), settings: { ppo } };
  } finally {
    await reward.close?.();
  }
}

/** GRPO with the live reward model: ppo.steps batches of groups, stopping early near the KL budget as PPO does. */
async function runGrpo(input: PolicyTrainingInput): Promise<PolicyTraining> {
  const { config, runId } = input;
  const reward = await liveReward(input);
  const grpo = { ...config.policy.grpo, seed: config.policy.grpo.seed + runId };
  try {
    const history = await trainGrpo(
      {
        policyDir: input.current.dir,
        referenceDir: input.referenceDir,
        epochs: config.ppo.steps,
        stopAtKl: config.ppo.stopAtKlShare * config.ppo.klBudget,
        prompts: input.prompts,
        out: input.out,
        logsDir: input.logsDir,
        runName: "grpo",
        grpo,
        samplesShown: 0,
        quiet: true,
      },
      reward,
      () => {},
    );
    const last = history.at(-1);
    return { metrics: last ? grpoTrlMetrics(last) : {}, steps: history.length, ...(last ? { meanReward: last.meanReward } : {}), settings: { grpo } };
  } finally {
    await reward.close?.();
  }
}

/**
 * DPO on the run's preference pairs, no reward model: every pair of the training and
 * validation examples (the whole label history so far, ties making none), weighted by
 * its rater's reliability, against the fixed reference; the held-out pairs measure the
 * implicit reward's accuracy before and after. It stops early near the KL budget, measured
 * on the run's prompts every dpo.klCheckEvery steps.
 */
async function runDpo(input: PolicyTrainingInput): Promise<PolicyTraining> {
  const { split, weightOf } = input.preferences;
  const lists = (examples: PreferenceExample[], weighted: boolean) => examples.map((e) => toRankList(e, weighted ? weightOf(e) : undefined));
  const pairs = pairsFromRankLists(lists([...split.train, ...split.validation], true));
  const evalPairs = pairsFromRankLists(lists(split.heldOut, false));
  const { config } = input;
  // Stops near the KL budget as PPO and GRPO do, unless dpo.stopAtKl says otherwise.
  const dpo = {
    ...config.policy.dpo,
    seed: config.policy.dpo.seed + input.runId,
    stopAtKl: config.policy.dpo.stopAtKl ?? config.ppo.stopAtKlShare * config.ppo.klBudget,
  };
  const result = await trainDpo(
    {
      policyDir: input.current.dir,
      referenceDir: input.referenceDir,
      pairs,
      evalPairs,
      klPrompts: input.prompts,
      out: input.out,
      logsDir: input.logsDir,
      runName: "dpo",
      dpo,
    },
    () => {},
  );
  return { metrics: result.metrics, steps: result.steps, settings: { dpo } };
}

/** The policy's training for a run, by the configured algorithm; the gate and publishing are policy-phase.ts's, the same for all. */
export function trainPolicy(algorithm: PolicyAlgorithm, input: PolicyTrainingInput): Promise<PolicyTraining> {
  return { ppo: runPpo, grpo: runGrpo, dpo: runDpo }[algorithm](input);
}
