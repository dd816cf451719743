import { and, asc, eq, inArray, sql } from "drizzle-orm";
import { Hono } from "hono";
import { checkpoints, rankingItems, rankings, raters, scores } from "@ranklab/db";
import type { AppEnv, Db } from "../env.ts";
import { notFound } from "../errors.ts";
import { chunk } from "../lib/chunk.ts";
import { raterQuality } from "../lib/rater-quality.ts";
import { anyRole } from "../lib/roles.ts";
import { idParam } from "../lib/schemas.ts";
import { validate } from "../middleware/validate.ts";
import { absoluteDifference, pairwiseAgreement, rankAgreement, type Label, type RankOrder } from "../stats/agreement.ts";

/** Scores on completions that more than one rater scored. */
async function sharedScores(db: Db): Promise<Label<number>[]> {
  const rows = await db
    .select({ raterId: scores.raterId, completionId: scores.completionId, value: scores.value })
    .from(scores)
    .where(sql`${scores.completionId} IN (SELECT completion_id FROM scores GROUP BY completion_id HAVING count(*) > 1)`);
  return rows.map((r) => ({ raterId: r.raterId, item: String(r.completionId), value: r.value }));
}

/** Rank orders (best first, with ties) of completion sets that more than one rater ranked. */
async function sharedRankings(db: Db): Promise<Label<RankOrder>[]> {
  const rows = await db
    .select({ id: rankings.id, raterId: rankings.raterId, set: rankings.completionSet })
    .from(rankings)
    .where(sql`${rankings.completionSet} IN (SELECT completion_set FROM rankings GROUP BY completion_set HAVING count(*) > 1)`);
  const orders = new Map<number, RankOrder>();
  for (const ids of chunk(
    rows.map((r) => r.id),
    90,
  )) {
    const items = await db
      .select({ rankingId: rankingItems.rankingId, completionId: rankingItems.completionId, level: rankingItems.level })
      .from(rankingItems)
      .where(inArray(rankingItems.rankingId, ids))
      .orderBy(asc(rankingItems.rankingId), asc(rankingItems.position));
    for (const item of items) {
      const order = orders.get(item.rankingId) ?? { ids: [], levels: [] };
      order.ids.push(item.completionId);
      order.levels.push(item.level);
      orders.set(item.rankingId, order);
    }
  }
  return rows.map((r) => ({ raterId: r.raterId, item: r.set, value: orders.get(r.id) ?? { ids: [], levels: [] } }));
}

async function agreement(db: Db) {
  const [scoreLabels, rankLabels] = await Promise.all([sharedScores(db), sharedRankings(db)]);
  return { scores: pairwiseAgreement(scoreLabels, absoluteDifference), rankings: pairwiseAgreement(rankLabels, rankAgreement) };
}

const labelCounts = (db: Db) =>
  db
    .select({
      raterId: raters.id,
      externalId: raters.externalId,
      // Qualified by hand: drizzle writes a bare "id" here, which the subquery would read as its own.
      scores: sql<number>`(SELECT count(*) FROM scores s WHERE s.rater_id = raters.id)`,
      rankings: sql<number>`(SELECT count(*) FROM rankings r WHERE r.rater_id = raters.id)`,
    })
    .from(raters);

type Counts = Awaited<ReturnType<typeof labelCounts>>[number];

function raterView(counts: Counts, agreed: Awaited<ReturnType<typeof agreement>>) {
  return {
    ...counts,
    agreement: {
      scoreMeanAbsDiff: agreed.scores.perRater.get(counts.raterId)?.mean ?? null,
      scorePairs: agreed.scores.perRater.get(counts.raterId)?.pairs ?? 0,
      rankKendallTau: agreed.rankings.perRater.get(counts.raterId)?.mean ?? null,
      rankPairs: agreed.rankings.perRater.get(counts.raterId)?.pairs ?? 0,
    },
  };
}

/**
 * The live reward model beside its raters, as the trainer measured it on labels the model
 * never trained on (the held-out split): overall and per-rater accuracy, and the
 * model–rater and rater–rater agreement (Kendall-style tau) on the same shared pairs.
 */
async function rewardModelAgreement(db: Db, raterId?: number) {
  const [active] = await db
    .select()
    .from(checkpoints)
    .where(and(eq(checkpoints.kind, "reward"), eq(checkpoints.active, true)))
    .limit(1);
  if (!active) return null;
  const m = (active.metrics ?? {}) as Record<string, unknown>;
  const num = (key: string) => (typeof m[key] === "number" ? (m[key] as number) : null);
  const perRater = Object.keys(m)
    .map((k) => /^held_out_accuracy\/rater_(\d+)$/.exec(k))
    .filter((x): x is RegExpExecArray => x !== null)
    .map((x) => ({ raterId: Number(x[1]), accuracy: num(x[0]), pairs: num(`held_out_pairs/rater_${x[1]}`) }))
    .filter((r) => raterId === undefined || r.raterId === raterId);
  return {
    checkpointId: active.id,
    version: active.version,
    heldOutAccuracy: num("held_out_accuracy"),
    heldOutPairs: num("held_out_pairs"),
    modelRaterTau: num("agreement/model_rater_tau"),
    raterRaterTau: num("agreement/rater_rater_tau"),
    sharedPairs: num("agreement/shared_pairs"),
    perRater,
  };
}

export const statsRoutes = new Hono<AppEnv>()
  /** Counts per rater and prompt, labels waiting for a trainer, and inter-rater agreement. */
  .get("/", anyRole, async (c) => {
    const db = c.get("db");
    const now = Date.now();
    const [totals, waiting, perRater, perPrompt, agreed, quality] = await Promise.all([
      db.get<{ raters: number; prompts: number; completions: number; scores: number; rankings: number }>(sql`
        SELECT (SELECT count(*) FROM raters) AS raters, (SELECT count(*) FROM prompts) AS prompts,
               (SELECT count(*) FROM completions) AS completions, (SELECT count(*) FROM scores) AS scores,
               (SELECT count(*) FROM rankings) AS rankings`),
      db.get<{ scores: number; rankings: number; leasedScores: number; leasedRankings: number }>(sql`
        SELECT
          (SELECT count(*) FROM scores WHERE trained_at IS NULL AND (lease_expires_at IS NULL OR lease_expires_at <= ${now})) AS scores,
          (SELECT count(*) FROM rankings WHERE trained_at IS NULL AND (lease_expires_at IS NULL OR lease_expires_at <= ${now})) AS rankings,
          (SELECT count(*) FROM scores WHERE trained_at IS NULL AND lease_expires_at > ${now}) AS leasedScores,
          (SELECT count(*) FROM rankings WHERE trained_at IS NULL AND lease_expires_at > ${now}) AS leasedRankings`),
      labelCounts(db),
      db.all<{ promptId: number; text: string; completions: number; scores: number; rankings: number }>(sql`
        SELECT p.id AS promptId, p.text AS text,
               (SELECT count(*) FROM completions c WHERE c.prompt_id = p.id) AS completions,
               (SELECT count(*) FROM scores s JOIN completions c ON c.id = s.completion_id WHERE c.prompt_id = p.id) AS scores,
               (SELECT count(*) FROM rankings r WHERE r.prompt_id = p.id) AS rankings
        FROM prompts p ORDER BY p.id`),
      agreement(db),
      // Every rater's reliability for the admin token; the others see the aggregate only.
      raterQuality(db, c.get("role") === "admin" ? { all: true } : { none: true }),
    ]);
    return c.json({
      rewardModel: await rewardModelAgreement(db),
      raterQuality: quality,
      totals: totals!,
      labelsWaiting: { scores: waiting!.scores, rankings: waiting!.rankings },
      labelsLeased: { scores: waiting!.leasedScores, rankings: waiting!.leasedRankings },
      perRater: perRater.map((r) => raterView(r, agreed)),
      perPrompt,
      agreement: {
        scores: { items: agreed.scores.items, pairs: agreed.scores.pairs, meanAbsDiff: agreed.scores.mean },
        rankings: { items: agreed.rankings.items, pairs: agreed.rankings.pairs, meanKendallTau: agreed.rankings.mean },
      },
    });
  })
  /**
   * One rater's counts and agreement: what the bot's /stats shows. `raterQuality` lists
   * this rater alone, or every rater when this rater is an admin (the bot shows admins
   * the whole reliability table, as the page's Dataset tab does).
   */
  .get("/raters/:id", anyRole, validate("param", idParam), async (c) => {
    const db = c.get("db");
    const { id } = c.req.valid("param");
    const [counts] = await labelCounts(db).where(eq(raters.id, id));
    if (!counts) throw notFound(`rater ${id}`);
    const [who] = await db.select({ role: raters.role, blocked: raters.blocked }).from(raters).where(eq(raters.id, id));
    const isAdmin = who?.role === "admin" && !who.blocked;
    return c.json({
      ...raterView(counts, await agreement(db)),
      rewardModel: await rewardModelAgreement(db, id),
      raterQuality: await raterQuality(db, isAdmin ? { all: true } : { raterId: id }),
    });
  });
