import { and, eq, sql } from "drizzle-orm";
import { rankingItems, rankings, type LABEL_SOURCES } from "@ranklab/db";
import type { Db } from "../env.ts";
import { ApiError } from "../errors.ts";
import { runBatch } from "./batch.ts";
import { activeRater, requireCompletions, requirePrompts } from "./lookups.ts";
import { completionSetKey, rankingViews } from "./ranking-view.ts";

export interface RankingSubmission {
  raterId: number;
  promptId: number;
  /** Best first. */
  completionIds: number[];
  source: (typeof LABEL_SOURCES)[number];
}

async function findRanking(db: Db, raterId: number, set: string) {
  const [row] = await db.select().from(rankings).where(and(eq(rankings.raterId, raterId), eq(rankings.completionSet, set)));
  if (!row) return undefined;
  const [view] = await rankingViews(db, [row]);
  return view;
}

/** Same rater, same set: a retry if the order matches, a conflict otherwise. */
function answerExisting(existing: NonNullable<Awaited<ReturnType<typeof findRanking>>>, order: number[]) {
  const stored = existing.completions.map((x) => x.id);
  if (stored.join(",") !== order.join(",")) {
    throw new ApiError(409, "conflict", `rater ${existing.raterId} already ranked these completions as ${stored.join(" > ")}`);
  }
  return { created: false as const, ranking: existing };
}

/**
 * Stores a rank list, best first, as one transaction (the ranking and its items).
 * Idempotent: the same rater and set of completions in the same order answers the
 * first result (created: false); another order is a 409. The schema itself refuses a
 * completion of another prompt; this names it first. Used by the API route and the
 * web page.
 */
export async function storeRanking(db: Db, body: RankingSubmission) {
    await activeRater(db, body.raterId);
    await requirePrompts(db, [body.promptId]);
    const found = await requireCompletions(db, body.completionIds);
    const foreign = body.completionIds.filter((cid) => found.get(cid)!.promptId !== body.promptId);
    if (foreign.length > 0) {
      throw new ApiError(400, "invalid_request", `completion${foreign.length > 1 ? "s" : ""} ${foreign.join(", ")} belong${foreign.length > 1 ? "" : "s"} to another prompt than ${body.promptId}`, [
        { path: "completionIds", message: "every completion must belong to promptId" },
      ]);
    }
    const set = completionSetKey(body.completionIds);
    const existing = await findRanking(db, body.raterId, set);
    if (existing) return answerExisting(existing, body.completionIds);

    const rankingId = sql`(SELECT id FROM rankings WHERE rater_id = ${body.raterId} AND completion_set = ${set})`;
    try {
      await runBatch(db, [
        db.insert(rankings).values({ raterId: body.raterId, promptId: body.promptId, completionSet: set, source: body.source }),
        db.insert(rankingItems).values(
          body.completionIds.map((completionId, position) => ({ rankingId, position, promptId: body.promptId, completionId })),
        ),
      ]);
    } catch (err) {
      // A concurrent identical submission won the race; answer as for a retry.
      const raced = await findRanking(db, body.raterId, set);
      if (raced) return answerExisting(raced, body.completionIds);
      throw err;
    }
    const created = await findRanking(db, body.raterId, set);
    return { created: true as const, ranking: created! };
}
