import { desc, inArray, lt } from "drizzle-orm";
import { z } from "zod";
import { CHECKPOINT_KINDS, CHECKPOINT_STATUSES, checkpoints, RUN_KINDS, RUN_STATUSES, trainingRuns, type Checkpoint, type TrainingRun } from "@ranklab/db";
import type { Db } from "../env.ts";
import { countQuery, idString } from "../lib/schemas.ts";

/** GET /app/api/runs: newest runs first, keyset-paged by id, at most 50 a page (each with its checkpoints). */
export const runsQuery = z.object({
  limit: countQuery(1, 50, 20),
  cursor: idString.optional(),
});

/**
 * The metric keys the trainer daemon publishes (services/gpu-trainer/src/daemon/*.ts) that
 * the Runs tab charts. A reward checkpoint's own metrics: reward-phase.ts; a policy
 * checkpoint's: policy-phase.ts (trl's names); the run's: training-run.ts, which also
 * copies the reward metrics and the policy's under `policy/`, used when a run has no
 * checkpoint of that kind (e.g. it failed after publishing).
 */
export const CHART_METRICS = {
  reward: {
    heldOutAccuracy: "held_out_accuracy",
    activeHeldOutAccuracy: "active_held_out_accuracy",
    heldOutPairs: "held_out_pairs",
    modelRaterTau: "agreement/model_rater_tau",
    raterRaterTau: "agreement/rater_rater_tau",
  },
  policy: {
    // The training's mean reward on its last batch, as each algorithm's trl name has it: PPO's env/reward_mean,
    // GRPO's reward (DPO has no reward model's reward, so none).
    rewardMean: ["env/reward_mean", "reward"],
    klToReference: "eval/kl_to_reference",
    distinct2: "eval/distinct_2",
    referenceDistinct2: "eval/reference_distinct_2",
  },
  run: {
    usedRankings: "labels/used_rankings",
    usedScores: "labels/used_scores",
  },
} as const;

/** A figure from a metrics record: a finite number, else null (absent from this run); with several names, the first there. */
const pick = (metrics: Record<string, unknown>, key: string | readonly string[]): number | null => {
  for (const name of typeof key === "string" ? [key] : key) {
    const value = metrics[name];
    if (typeof value === "number" && Number.isFinite(value)) return value;
  }
  return null;
};

const figure = (what: string) => z.number().nullable().describe(what);
const when = z.iso.datetime().nullable();

/** What GET /app/api/runs answers (documented in /openapi.json; the unit test parses the answer with it). */
export const runsAnswer = z.object({
  items: z.array(
    z.object({
      id: z.number().int(),
      kind: z.enum(RUN_KINDS),
      status: z.enum(RUN_STATUSES),
      requestedBy: z.string(),
      requestedAt: z.iso.datetime(),
      startedAt: when,
      finishedAt: when,
      summary: z.string().nullable(),
      error: z.string().nullable(),
      checkpoints: z
        .array(
          z.object({
            id: z.number().int(),
            kind: z.enum(CHECKPOINT_KINDS),
            version: z.number().int(),
            status: z.enum(CHECKPOINT_STATUSES),
            active: z.boolean().describe("the checkpoint of its kind in use now"),
            activatedAt: when.describe("when it went live; set on a checkpoint since replaced"),
            rejectedReason: z.string().nullable().describe("why the trainer's gate refused it; null when it passed"),
            createdAt: z.iso.datetime(),
          }),
        )
        .describe("the checkpoints the run published, oldest first"),
      figures: z.object({
        heldOutAccuracy: figure("the reward candidate's pairwise accuracy on held-out pairs (held_out_accuracy)"),
        activeHeldOutAccuracy: figure("the accuracy of the reward model it would replace, on the same pairs (active_held_out_accuracy)"),
        heldOutPairs: figure("how many held-out pairs both count"),
        modelRaterTau: figure("agreement/model_rater_tau"),
        raterRaterTau: figure("agreement/rater_rater_tau"),
        rewardMean: figure(
          "the policy training's mean reward in its last batch (PPO's env/reward_mean, GRPO's reward; DPO has none), in the units of the reward model that scored it",
        ),
        rewardModelVersion: figure(
          "the version of the reward checkpoint PPO scored with (the policy checkpoint's config.reward_checkpoint): mean rewards of different reward models are not comparable",
        ),
        klToReference: figure("the policy's KL to the reference policy on evaluation samples (eval/kl_to_reference)"),
        distinct2: figure("the policy's distinct-2 (eval/distinct_2)"),
        referenceDistinct2: figure("the reference policy's distinct-2 on the same prompts"),
        labelsUsed: figure("rankings and scores the run trained on"),
        usedRankings: figure("labels/used_rankings"),
        usedScores: figure("labels/used_scores"),
      }),
    }),
  ),
  nextCursor: z.number().int().nullable(),
});

export type RunsAnswer = z.infer<typeof runsAnswer>;
export type RunFigures = RunsAnswer["items"][number]["figures"];

/** The checkpoint whose figures stand for the run: the last one of that kind the run published. */
const lastOfKind = (cps: Checkpoint[], kind: Checkpoint["kind"]) => cps.filter((c) => c.kind === kind).sort((a, b) => b.version - a.version)[0];

/** The figures the Runs tab charts for one run, from its checkpoints' metrics, else from the run's own. */
export function runFigures(run: Pick<TrainingRun, "metrics">, cps: Checkpoint[], rewardVersions: ReadonlyMap<number, number> = new Map()): RunFigures {
  const reward = lastOfKind(cps, "reward");
  const policy = lastOfKind(cps, "policy");
  const runMetrics = run.metrics ?? {};
  const rewardMetrics = reward?.metrics ?? runMetrics;
  const policyMetrics =
    policy?.metrics ??
    Object.fromEntries(
      Object.entries(runMetrics)
        .filter(([k]) => k.startsWith("policy/"))
        .map(([k, v]) => [k.slice("policy/".length), v]),
    );
  const r = CHART_METRICS.reward;
  const p = CHART_METRICS.policy;
  const usedRankings = pick(runMetrics, CHART_METRICS.run.usedRankings);
  const usedScores = pick(runMetrics, CHART_METRICS.run.usedScores);
  return {
    heldOutAccuracy: pick(rewardMetrics, r.heldOutAccuracy),
    activeHeldOutAccuracy: pick(rewardMetrics, r.activeHeldOutAccuracy),
    heldOutPairs: pick(rewardMetrics, r.heldOutPairs),
    modelRaterTau: pick(rewardMetrics, r.modelRaterTau),
    raterRaterTau: pick(rewardMetrics, r.raterRaterTau),
    rewardMean: pick(policyMetrics, p.rewardMean),
    rewardModelVersion: rewardVersions.get(scoredBy(policy) ?? -1) ?? null,
    klToReference: pick(policyMetrics, p.klToReference),
    distinct2: pick(policyMetrics, p.distinct2),
    referenceDistinct2: pick(policyMetrics, p.referenceDistinct2),
    labelsUsed: usedRankings === null && usedScores === null ? null : (usedRankings ?? 0) + (usedScores ?? 0),
    usedRankings,
    usedScores,
  };
}

/** A checkpoint as the Runs tab lists it: no file key, no config, no per-rater metrics. */
const checkpointRow = (c: Checkpoint) => ({
  id: c.id,
  kind: c.kind,
  version: c.version,
  status: c.status,
  active: c.active,
  activatedAt: c.activatedAt,
  rejectedReason: c.rejectedReason,
  createdAt: c.createdAt,
});

/** The id of the reward checkpoint a policy checkpoint's PPO scored with (policy-phase.ts writes it into its config). */
function scoredBy(policy: Checkpoint | undefined): number | undefined {
  const id = (policy?.config as Record<string, unknown> | null | undefined)?.reward_checkpoint;
  return typeof id === "number" && Number.isInteger(id) ? id : undefined;
}

/** One page of runs, newest first, each with its checkpoints (oldest first) and its chart figures. */
export async function runsPage(db: Db, { limit, cursor }: { limit: number; cursor?: number | undefined }) {
  const runs = await db
    .select()
    .from(trainingRuns)
    .where(cursor ? lt(trainingRuns.id, cursor) : undefined)
    .orderBy(desc(trainingRuns.id))
    .limit(limit);
  const cps =
    runs.length === 0
      ? []
      : await db
          .select()
          .from(checkpoints)
          .where(
            inArray(
              checkpoints.trainingRunId,
              runs.map((r) => r.id),
            ),
          )
          .orderBy(checkpoints.id);
  const byRun = new Map<number, Checkpoint[]>();
  for (const c of cps) byRun.set(c.trainingRunId!, [...(byRun.get(c.trainingRunId!) ?? []), c]);
  // The reward checkpoints PPO scored with may come from earlier runs than this page's: look up their versions.
  const scorers = [
    ...new Set(
      cps
        .filter((c) => c.kind === "policy")
        .map(scoredBy)
        .filter((id): id is number => id !== undefined),
    ),
  ];
  const rewardVersions = new Map(
    scorers.length === 0
      ? []
      : (await db.select({ id: checkpoints.id, version: checkpoints.version }).from(checkpoints).where(inArray(checkpoints.id, scorers))).map(
          (c) => [c.id, c.version] as const,
        ),
  );
  const items = runs.map((run) => {
    const own = byRun.get(run.id) ?? [];
    return {
      id: run.id,
      kind: run.kind,
      status: run.status,
      requestedBy: run.requestedBy,
      requestedAt: run.requestedAt,
      startedAt: run.startedAt,
      finishedAt: run.finishedAt,
      summary: run.summary,
      error: run.error,
      checkpoints: own.map(checkpointRow),
      figures: runFigures(run, own, rewardVersions),
    };
  });
  return { items, nextCursor: runs.length === limit ? runs[runs.length - 1]!.id : null };
}
