import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { samplePolicy } from "../generation/sample-policy.ts";
import { readGpt2Dir } from "../io/gpt2-dir.ts";
import { examplesFromLabels, type ExampleSet, type PreferenceExample } from "../preferences/examples.ts";
import { splitExamples } from "../preferences/split.ts";
import { trainerApi, type TrainerApi } from "../ranklab-api.ts";
import { countPairs } from "../reward-model/rank-data.ts";
import { toRankList } from "../preferences/examples.ts";
import { DaemonConfigSchema, type DaemonConfig, type DaemonSettings } from "./config.ts";
import { currentPolicy, policyPhase, type PolicyPhaseResult } from "./policy-phase.ts";
import { fetchActiveCheckpoint } from "../checkpoints/fetch.ts";
import { raterWeights, rewardPhase, type RewardPhaseResult } from "./reward-phase.ts";
import { postTaskRewards } from "./task-rewards.ts";

export { DaemonConfigSchema, type DaemonConfig };
export { currentPolicy };

/**
 * Runs this trainer left "running" when it died (same trainer name) go back to
 * "requested", so they are claimed again and resume from <home>/run-<id>; their old
 * leases have expired or will, returning the labels to the pool.
 */
export async function requeueOwnRuns(input: DaemonConfig, log: (line: string) => void = console.log): Promise<number[]> {
  const config = DaemonConfigSchema.parse(input);
  const api = trainerApi(config.apiUrl, config.trainerToken);
  const mine = (await api.runningRuns()).items.filter((r) => r.trainer === config.trainer).map((r) => r.id);
  for (const id of mine) {
    await api.requeueRun(id);
    log(`run ${id}: left running by an earlier ${config.trainer}; requested again`);
  }
  return mine;
}

/** Continuations of every active prompt from `policyDir`, posted to the API (500 a request, its limit). */
export async function postFreshCompletions(input: DaemonConfig, policyDir: string, checkpointId: number | null, seed: number): Promise<number> {
  const config = DaemonConfigSchema.parse(input);
  const api = trainerApi(config.apiUrl, config.trainerToken);
  const prompts = await api.activePrompts();
  const rows = prompts.flatMap((p) => Array.from({ length: config.completionsPerPrompt }, () => p));
  if (rows.length === 0) return 0;
  const model = readGpt2Dir(policyDir);
  const samples = await samplePolicy(
    model,
    policyDir,
    rows.map((p) => p.text),
    { maxNewTokens: 32, temperature: 1, topK: 0, topP: 0.95, seed },
  );
  const completions = rows.map((p, i) => ({ promptId: p.id, text: samples.texts[i]! })).filter((c) => c.text.trim() !== "");
  for (let start = 0; start < completions.length; start += 500)
    await api.postCompletions(checkpointId, { source: "trainer daemon", seed }, completions.slice(start, start + 500));
  return completions.length;
}

/** What a run trains (D1 `training_runs.kind`): both models, the reward model alone, or the policy alone. */
export type RunKind = "full" | "reward" | "policy";

export interface RunResult {
  runId: number;
  kind: RunKind;
  /** Labels the lease held, and those of them the run used (in an example of any split). */
  leased: { rankings: number; scores: number };
  used: { rankings: number; scores: number };
  skipped: ExampleSet["skipped"];
  /** Set when the run gave its labels back untrained, with the reason. */
  released?: string;
  reward?: RewardPhaseResult;
  policy?: PolicyPhaseResult;
  completionsPosted: number;
  summary: string;
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

function skippedMetrics(skipped: ExampleSet["skipped"]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const kind of ["rankings", "scores"] as const)
    for (const [reason, n] of Object.entries(skipped[kind])) if (n > 0) out[`labels/skipped_${kind}_${reason}`] = n;
  return out;
}

/** The lease's own labels among `examples`: what this run acknowledges. */
function usedIds(examples: readonly PreferenceExample[], lease: { rankings: { id: number }[]; scores: { id: number }[] }) {
  const leasedRankings = new Set(lease.rankings.map((r) => r.id));
  const leasedScores = new Set(lease.scores.map((s) => s.id));
  return {
    rankingIds: [...new Set(examples.flatMap((e) => e.rankingIds).filter((id) => leasedRankings.has(id)))],
    scoreIds: [...new Set(examples.flatMap((e) => e.scoreIds).filter((id) => leasedScores.has(id)))],
  };
}

/**
 * One training run, if one is requested:
 * 1. lease the new labels and read the whole label history (trained labels + the lease's)
 *    through the API: preference examples in memory, split by a hash of each group;
 * 2. too few pairs to train or to judge: give the lease back with the reason, train nothing;
 * 3. else train a reward-model candidate on every training example, gate it against the
 *    active model on the same held-out pairs, publish it (activated or rejected), and
 *    acknowledge exactly the leased labels that made an example; release the rest;
 * 4. the policy from the active one by policy.algorithm (PPO or GRPO with the live reward
 *    model, or DPO on the examples' pairs) against the fixed reference, gated on KL and
 *    distinct-2, published (activated or rejected);
 * 5. fresh completions from the active policy, so raters always have new work.
 * The run's kind picks the parts: `full` all of them, `reward` 1–3 and 5, `policy` 4 and 5
 * with the active reward model and the trained label history (no lease: no new labels are
 * taken from the pool, so none wait on a run that does not train the reward model).
 * A failure gives the lease back (its labels return to the pool at once); a killed
 * trainer's lease expires. The run's metrics and summary say what happened.
 */
export async function runNextTrainingRun(input: DaemonConfig, log: (line: string) => void = console.log): Promise<RunResult | undefined> {
  const config: DaemonSettings = DaemonConfigSchema.parse(input);
  const api = trainerApi(config.apiUrl, config.trainerToken);
  const { run } = await api.claimRun(config.trainer);
  if (!run) return undefined;
  const runDir = join(config.home, `run-${run.id}`);
  mkdirSync(runDir, { recursive: true });
  const kind: RunKind = run.kind === "reward" || run.kind === "policy" ? run.kind : "full";
  log(`run ${run.id}: claimed${kind === "full" ? "" : ` (${kind} only)`}`);
  let leaseId: string | undefined;
  try {
    const leased = kind === "policy" ? { lease: null, rankings: [], scores: [] } : await api.lease(config.trainer, config.leaseLimit, config.leaseSeconds);
    leaseId = leased.lease?.id;
    const history = await api.labelHistory(leaseId);
    const set = examplesFromLabels(history.rankings, history.scores);
    const split = splitExamples(set.examples);
    const pairs = { train: countPairs(split.train.map((e) => toRankList(e))), heldOut: countPairs(split.heldOut.map((e) => toRankList(e))) };
    const result: RunResult = {
      runId: run.id,
      kind,
      leased: { rankings: leased.rankings.length, scores: leased.scores.length },
      used: { rankings: 0, scores: 0 },
      skipped: set.skipped,
      completionsPosted: 0,
      summary: "",
    };
    log(
      `run ${run.id}: ${kind === "policy" ? "no lease (policy only)" : `leased ${leased.rankings.length} rankings and ${leased.scores.length} scores`}; history ${history.rankings.length} rankings and ${history.scores.length} scores → ` +
        `${set.examples.length} examples (${split.train.length} train, ${split.validation.length} validation, ${split.heldOut.length} held-out; ${pairs.train} train and ${pairs.heldOut} held-out pairs), ` +
        `skipped ${sum(set.skipped.rankings)} rankings and ${sum(set.skipped.scores)} scores`,
    );
    const metrics: Record<string, number> = {
      "labels/leased_rankings": leased.rankings.length,
      "labels/leased_scores": leased.scores.length,
      "labels/examples": set.examples.length,
      "labels/train_pairs": pairs.train,
      "labels/held_out_pairs": pairs.heldOut,
      ...skippedMetrics(set.skipped),
    };

    // What the policy trains with, once a reward model was trained (full) or taken as it is (policy).
    let forPolicy: { live?: { dir: string; ref: { id: number } }; weightOf: (e: PreferenceExample) => number | undefined } | undefined;
    if (kind === "policy") {
      const live = await fetchActiveCheckpoint(api, "reward", config.home);
      forPolicy = { ...(live ? { live } : {}), weightOf: (await raterWeights(api, config, split)).weightOf };
      result.summary = `policy only, with ${live ? `reward checkpoint ${live.ref.id}` : "no active reward model"}`;
    } else if (!leaseId || leased.rankings.length + leased.scores.length === 0) {
      result.summary = "no new labels; nothing to train";
    } else if (pairs.train < config.reward.minTrainPairs || pairs.heldOut < config.reward.minHeldOutPairs) {
      // Too few to train on or to judge a model by: the labels go back to the pool, untrained, and wait for more.
      result.released = `too few labels: ${pairs.train} train pairs (need ${config.reward.minTrainPairs}) and ${pairs.heldOut} held-out pairs (need ${config.reward.minHeldOutPairs})`;
      await api.releaseLease(leaseId, result.released);
      leaseId = undefined;
      result.summary = `released the lease: ${result.released}`;
      log(`run ${run.id}: ${result.summary}`);
    } else {
      // The reward model, gated; then the labels it was trained with are acknowledged.
      const policyNow = await currentPolicy(api, config);
      result.reward = await rewardPhase({ api, config, runId: run.id, runDir, policyDir: policyNow?.dir, log }, split);
      const used = usedIds(set.examples, leased);
      const ack = await api.ackLease(leaseId, used, "made no preference pair yet (e.g. a score whose group is not fully scored)");
      leaseId = undefined;
      result.used = { rankings: ack.acknowledged.rankings, scores: ack.acknowledged.scores };
      Object.assign(metrics, result.reward.metrics, {
        "labels/used_rankings": ack.acknowledged.rankings,
        "labels/used_scores": ack.acknowledged.scores,
        "labels/released_rankings": ack.released.rankings,
        "labels/released_scores": ack.released.scores,
        "reward/activated": result.reward.verdict.activate ? 1 : 0,
      });
      result.summary = result.reward.verdict.activate
        ? `reward checkpoint v${result.reward.candidate.version} activated (held-out ${result.reward.candidateAccuracy.toFixed(4)}${result.reward.activeAccuracy !== undefined ? ` vs ${result.reward.activeAccuracy.toFixed(4)}` : ""} on ${result.reward.heldOutPairs} pairs)`
        : `reward checkpoint v${result.reward.candidate.version} rejected: ${result.reward.verdict.reason}`;
      if (kind === "full") forPolicy = { ...(result.reward.live ? { live: result.reward.live } : {}), weightOf: result.reward.weightOf };
    }

    // The policy: PPO or GRPO with whichever reward model is live now, or DPO on the run's preference pairs.
    if (forPolicy && config.ppo.steps > 0) {
      const { live, weightOf } = forPolicy;
      const dpo = config.policy.algorithm === "dpo";
      const missing = dpo ? (pairs.train === 0 ? "no preference pairs in the label history" : undefined) : live ? undefined : "no active reward model";
      if (missing) {
        result.summary += `; no policy trained: ${missing}`;
      } else {
        result.policy = await policyPhase(
          { api, config, runId: run.id, runDir, log },
          { ...(live ? { reward: { dir: live.dir, checkpointId: live.ref.id } } : {}), preferences: { split, weightOf } },
        );
        if (result.policy) {
          const { algorithm, published, verdict } = result.policy;
          Object.assign(metrics, Object.fromEntries(Object.entries(result.policy.metrics).map(([k, v]) => [`policy/${k}`, v])), {
            "policy/activated": verdict.activate ? 1 : 0,
          });
          result.summary += verdict.activate
            ? `; policy checkpoint v${published.version} (${algorithm}) activated`
            : `; policy checkpoint v${published.version} (${algorithm}) rejected: ${verdict.reason}`;
        }
      }
    }

    // Fresh completions from the active policy (or the fallback), so raters always have new work.
    const policy = await currentPolicy(api, config);
    if (config.completionsPerPrompt > 0 && policy) {
      result.completionsPosted = await postFreshCompletions(config, policy.dir, policy.checkpointId, run.id);
      log(
        `run ${run.id}: posted ${result.completionsPosted} new completions from ${policy.checkpointId ? `policy checkpoint v${policy.version ?? `? (id ${policy.checkpointId})`}` : "the fallback policy"}`,
      );
    }
    metrics["completions/posted"] = result.completionsPosted;
    // The live reward model's view of what raters may rank next, so tasks go where it is least sure.
    const live = result.reward?.live ?? (kind === "policy" ? forPolicy?.live : undefined);
    if (live) {
      const posted = await postTaskRewards(api, { dir: live.dir, checkpointId: live.ref.id });
      metrics["completions/rewards_posted"] = posted;
      log(`run ${run.id}: posted the live reward model's rewards for ${posted} completions (rank tasks favour the groups it is least sure about)`);
    }
    await api.finishRun(run.id, { status: "succeeded", metrics, summary: result.summary });
    log(`run ${run.id}: succeeded; used ${result.used.rankings} rankings and ${result.used.scores} scores; ${result.summary}`);
    return result;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log(`run ${run.id}: failed: ${message}`);
    if (leaseId) await api.releaseLease(leaseId, `run ${run.id} failed: ${message}`).catch(() => {});
    await api.finishRun(run.id, { status: "failed", error: message }).catch(() => {});
    throw err;
  }
}

export type { TrainerApi };
