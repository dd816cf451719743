import { basename, join } from "node:path";
import { fetchActiveCheckpoint, type LocalCheckpoint } from "../checkpoints/fetch.ts";
import { publishCheckpoint, type Published } from "../checkpoints/publish.ts";
import { readBertDir } from "../io/bert-dir.ts";
import { exportBertOnnx } from "../onnx/export-bert.ts";
import { toRankList, type PreferenceExample } from "../preferences/examples.ts";
import type { Split } from "../preferences/split.ts";
import type { TrainerApi } from "../ranklab-api.ts";
import { agreementOf } from "../preferences/agreement.ts";
import { raterReliability } from "../preferences/reliability.ts";
import { countPairs, pairwiseAccuracy, type RankList } from "../reward-model/rank-data.ts";
import { rewardInputOf } from "../reward-model/reward-input.ts";
import { folderScorer, scoreLists, trainRewardModelOn } from "../reward-model/train.ts";
import { rewardScaleOf } from "../reward-functions/model-rewards.ts";
import { RewardTrainConfigSchema } from "../reward-model/train-config.ts";
import { isModelDir } from "../reward-model/reward-base.ts";
import type { DaemonSettings } from "./config.ts";
import { rewardGate, type Verdict } from "./gates.ts";

export interface RewardPhaseResult {
  candidate: Published;
  verdict: Verdict;
  heldOutPairs: number;
  candidateAccuracy: number;
  activeAccuracy?: number;
  /** A from-scratch candidate's accuracy on the same held-out pairs (reward.compareWithScratch, first model from a base). */
  scratchAccuracy?: number;
  /** Other bases' candidates on the same labels and held-out pairs (reward.compareWithBases), by folder. */
  comparedAccuracy?: Record<string, number>;
  /** What the candidate was trained from: the active model, the reward base, or nothing. */
  startedFrom: "active" | "base" | "scratch";
  /** The reward model PPO uses from now on: the candidate if it went live, else the one that stays active. */
  live?: LocalCheckpoint | { dir: string; ref: Published };
  metrics: Record<string, number>;
  /** An example's weight by its rater's estimated reliability (what the candidate trained with; DPO weighs its pairs by it too). */
  weightOf: (e: PreferenceExample) => number | undefined;
}

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

/** A checkpoint's pairwise accuracy on the held-out lists, and its rewards for them (for agreement), on onnxruntime from the folder's weight store. */
async function heldOutAccuracy(dir: string, lists: RankList[], maxLength: number) {
  const scorer = await folderScorer(dir, "onnx", maxLength);
  try {
    const scores = await scoreLists(scorer.score, lists);
    return { ...pairwiseAccuracy(lists, scores), scores };
  } finally {
    await scorer.close();
  }
}

/** Live agreement: the candidate against each rater on labels it never trained on, beside rater–rater agreement on the same groups. */
function agreementMetrics(examples: PreferenceExample[], scores: number[][]): Record<string, number> {
  const a = agreementOf(examples, scores);
  const out: Record<string, number> = {};
  for (const [rater, r] of a.modelByRater)
    if (r.pairs > 0) Object.assign(out, { [`held_out_accuracy/rater_${rater}`]: r.accuracy, [`held_out_pairs/rater_${rater}`]: r.pairs });
  if (a.raterRater.pairs > 0)
    Object.assign(out, {
      "agreement/rater_rater_tau": a.raterRater.tau,
      "agreement/model_rater_tau": a.modelRater.tau,
      "agreement/shared_pairs": a.raterRater.pairs,
    });
  return out;
}

/**
 * Each rater's reliability, estimated from agreement on groups several raters labeled and
 * with the gold groups' known orders, and the weight an example gets by it (none when
 * reward.weightByReliability is off): the reward model's pairs and DPO's count by it.
 */
export async function raterWeights(api: TrainerApi, config: DaemonSettings, split: Record<Split, PreferenceExample[]>) {
  const gold = (await api.goldGroups()).map((g) => ({ completionIds: g.completions.map((c) => c.id), levels: g.completions.map((c) => c.level) }));
  const reliability = raterReliability([...split.train, ...split.validation, ...split.heldOut], { gold });
  const weightOf = (e: PreferenceExample) => (config.reward.weightByReliability ? reliability.get(e.raterId)?.weight : undefined);
  return { reliability, weightOf, goldGroups: gold.length };
}

/**
 * The reward model's part of a run: train a candidate on every training example so far
 * (warm-started from the active model, else fine-tuned from the reward base, else from
 * scratch with the policy's vocabulary), on the onnxruntime engine,
 * pick its best step on the validation split, score it and the active model on the same
 * held-out pairs, and publish it: activated if the gate passes, else rejected with the
 * reason while the active model stays.
 */
export async function rewardPhase(
  ctx: { api: TrainerApi; config: DaemonSettings; runId: number; runDir: string; policyDir: string | undefined; log: (line: string) => void },
  split: Record<Split, PreferenceExample[]>,
): Promise<RewardPhaseResult> {
  const { api, config, runId, runDir, log } = ctx;
  const { reliability, weightOf, goldGroups } = await raterWeights(api, config, split);
  const train = split.train.map((e) => toRankList(e, weightOf(e)));
  const heldOut = split.heldOut.map((e) => toRankList(e));
  // Without validation groups yet, the best step is chosen on the training lists (the gate still uses held-out pairs only).
  const validation = split.validation.length > 0 ? split.validation.map((e) => toRankList(e)) : train;
  const active = await fetchActiveCheckpoint(api, "reward", config.home);
  // Where the candidate starts: the active model, else the pretrained base (when prepare has made it), else scratch.
  const base = isModelDir(config.reward.baseModel) ? config.reward.baseModel : undefined;
  const startFrom: "active" | "base" | "scratch" = active ? "active" : base ? "base" : "scratch";
  const scratchInit = { ...(ctx.policyDir ? { vocabFrom: ctx.policyDir } : {}), model: { ...config.reward.model, maxVocab: 8000 } };
  const configFor = (out: string, init: Record<string, unknown>) =>
    RewardTrainConfigSchema.parse({
      out: join(runDir, out),
      logsDir: join(runDir, "logs"),
      runName: out,
      epochs: config.reward.epochs,
      maxLength: config.reward.maxLength,
      evalEvery: 1_000_000,
      rewardInput: "pair",
      // The onnxruntime engine, as the rest of the loop (~6× a tfjs step on 2 cores). Dropout 0: the setting the loop
      // benchmark measured (docs/benchmarks.md); the engine has dropout, but a few epochs with the best step chosen on
      // the validation split have not been shown to need it.
      engine: "onnx",
      dropout: 0,
      quiet: true,
      ...init,
    });
  const trainConfig = configFor(
    "reward-model",
    startFrom === "active"
      ? { baseModel: active!.dir, learningRate: config.reward.warmLearningRate }
      : startFrom === "base"
        ? { baseModel: base, learningRate: config.reward.warmLearningRate }
        : scratchInit,
  );
  if (startFrom === "scratch" && config.reward.baseModel)
    log(`run ${runId}: no reward base at ${config.reward.baseModel} yet; the first reward model starts from scratch`);
  const trained = await trainRewardModelOn(trainConfig, train, validation, log);

  const candidate = await heldOutAccuracy(trained.bestDir, heldOut, config.reward.maxLength);
  const current = active ? await heldOutAccuracy(active.dir, heldOut, config.reward.maxLength) : undefined;
  const verdict = rewardGate(candidate, current, config.reward);
  // Benchmarks: what the base buys, a from-scratch candidate on the same labels, scored on the same held-out pairs.
  const scratch =
    startFrom === "base" && config.reward.compareWithScratch
      ? await heldOutAccuracy(
          (await trainRewardModelOn(configFor("reward-scratch", scratchInit), train, validation, log)).bestDir,
          heldOut,
          config.reward.maxLength,
        )
      : undefined;
  const compared: Record<string, number> = {};
  if (startFrom === "base")
    for (const [i, other] of config.reward.compareWithBases.entries()) {
      if (!isModelDir(other)) throw new Error(`reward.compareWithBases: ${other} is not a model folder (config.json and weights)`);
      const out = `reward-compared-${i}`;
      const otherTrained = await trainRewardModelOn(configFor(out, { baseModel: other, learningRate: config.reward.warmLearningRate }), train, validation, log);
      compared[other] = (await heldOutAccuracy(otherTrained.bestDir, heldOut, config.reward.maxLength)).accuracy;
    }

  const best = readBertDir(trained.bestDir);
  const rewardInput = rewardInputOf(best.config);
  // Published with its ONNX graph, so no scorer exports it again on load.
  exportBertOnnx(trained.bestDir, best);
  const scale = rewardScaleOf(trained.bestDir);
  const metrics: Record<string, number> = {
    held_out_accuracy: candidate.accuracy,
    held_out_pairs: candidate.pairs,
    ...(current ? { active_held_out_accuracy: current.accuracy } : {}),
    ...(scratch ? { scratch_held_out_accuracy: scratch.accuracy } : {}),
    ...Object.fromEntries(Object.entries(compared).map(([dir, accuracy]) => [`compared_held_out_accuracy/${basename(dir)}`, accuracy])),
    ...(goldGroups > 0 ? { gold_groups: goldGroups } : {}),
    train_pairs: countPairs(train),
    validation_accuracy: trained.bestAccuracy,
    ...(scale ? { train_reward_mean: scale.mean, train_reward_std: scale.std } : {}),
    ...agreementMetrics(split.heldOut, candidate.scores),
    // Four decimals: the API keeps at most 16 KiB of metrics per checkpoint, and these keys come per rater.
    ...Object.fromEntries(
      [...reliability].flatMap(([rater, r]) => [
        [`reliability/rater_${rater}`, round4(r.accuracy)],
        [`reliability_weight/rater_${rater}`, round4(r.weight)],
        [`reliability_judgements/rater_${rater}`, r.sharedJudgements],
        ...(r.goldJudgements > 0 ? [[`reliability_gold_judgements/rater_${rater}`, r.goldJudgements]] : []),
      ]),
    ),
  };
  const published = await publishCheckpoint(api, trained.bestDir, {
    kind: "reward",
    metrics,
    config: {
      reward_input: rewardInput,
      started_from: startFrom,
      warm_start_from: active?.ref.id ?? null,
      ...(startFrom === "base" ? { base_model: base } : {}),
      train: { ...trainConfig, out: undefined, logsDir: undefined },
    },
    trainingRunId: runId,
    ...(verdict.activate ? { activate: true } : { rejectedReason: verdict.reason }),
  });
  log(
    verdict.activate
      ? `run ${runId}: reward checkpoint v${published.version} active (held-out accuracy ${candidate.accuracy.toFixed(4)}${current ? ` vs ${current.accuracy.toFixed(4)} for the one it replaces` : ""}, ${candidate.pairs} pairs)`
      : `run ${runId}: reward checkpoint v${published.version} rejected: ${verdict.reason}; v${active?.ref.version ?? "-"} stays active`,
  );
  return {
    candidate: published,
    verdict,
    heldOutPairs: candidate.pairs,
    candidateAccuracy: candidate.accuracy,
    ...(current ? { activeAccuracy: current.accuracy } : {}),
    ...(scratch ? { scratchAccuracy: scratch.accuracy } : {}),
    ...(Object.keys(compared).length > 0 ? { comparedAccuracy: compared } : {}),
    startedFrom: startFrom,
    ...(verdict.activate ? { live: { dir: trained.bestDir, ref: published } } : active ? { live: active } : {}),
    metrics,
    weightOf,
  };
}
