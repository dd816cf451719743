import { and, eq, sql } from "drizzle-orm";
import { rankingItems, rankings, type LABEL_SOURCES } from "@ranklab/db";
import type { Db } from "../env.ts";
import { ApiError } from "../errors.ts";
import { runBatch } from "./batch.ts";
import { activeRater, requireGroupOfPrompt } from "./lookups.ts";
import { groupKey } from "./group-key.ts";
import { rankingViews } from "./ranking-view.ts";

export interface RankingSubmission {
  raterId: number;
  promptId: number;
  /** Best first. */
  completionIds: number[];
  /** Dense ranks (0 best), equal for ties; left out, the list is strict. */
  levels?: number[] | undefined;
  source: (typeof LABEL_SOURCES)[number];
}

/**
 * The one stored form of a rank list: tied completions in id order, so that the same
 * judgement given in another order of its ties is the same label (a retry, not a conflict).
 */
export function canonicalRanking(completionIds: readonly number[], levels?: readonly number[]): { ids: number[]; levels: number[] } {
  const withLevels = completionIds.map((id, i) => ({ id, level: levels?.[i] ?? i }));
  withLevels.sort((a, b) => a.level - b.level || a.id - b.id);
  return { ids: withLevels.map((x) => x.id), levels: withLevels.map((x) => x.level) };
}

/** How a ranking reads in a message: `7 > 9 = 8 > 6`. */
export const describeOrder = (ids: readonly number[], levels: readonly number[]) =>
  ids.map((id, i) => (i === 0 ? String(id) : `${levels[i] === levels[i - 1] ? "=" : ">"} ${id}`)).join(" ");

async function findRanking(db: Db, raterId: number, set: string) {
  const [row] = await db
    .select()
    .from(rankings)
    .where(and(eq(rankings.raterId, raterId), eq(rankings.completionSet, set)));
  if (!row) return undefined;
  const [view] = await rankingViews(db, [row]);
  return view;
}

/** Same rater, same set: a retry if the order and ties match, a conflict otherwise. */
function answerExisting(existing: NonNullable<Awaited<ReturnType<typeof findRanking>>>, wanted: { ids: number[]; levels: number[] }) {
  const ids = existing.completions.map((x) => x.id);
  const levels = existing.completions.map((x) => x.level);
  if (describeOrder(ids, levels) !== describeOrder(wanted.ids, wanted.levels)) {
    throw new ApiError(409, "conflict", `rater ${existing.raterId} already ranked these completions as ${describeOrder(ids, levels)}`);
  }
  return { created: false as const, ranking: existing };
}

/**
 * Stores a rank list, best first, with its ties, as one transaction (the ranking and
 * its items). Idempotent: the same rater and set of completions in the same order
 * answers the first result (created: false); another order is a 409. The schema itself
 * refuses a completion of another prompt; this names it first. Used by the API route
 * and the web page.
 */
export async function storeRanking(db: Db, body: RankingSubmission) {
  await activeRater(db, body.raterId);
  await requireGroupOfPrompt(db, body.promptId, body.completionIds);
  const wanted = canonicalRanking(body.completionIds, body.levels);
  const set = groupKey(body.completionIds);
  const existing = await findRanking(db, body.raterId, set);
  if (existing) return answerExisting(existing, wanted);

  const rankingId = sql`(SELECT id FROM rankings WHERE rater_id = ${body.raterId} AND completion_set = ${set})`;
  try {
    await runBatch(db, [
      db.insert(rankings).values({ raterId: body.raterId, promptId: body.promptId, completionSet: set, source: body.source }),
      db
        .insert(rankingItems)
        .values(wanted.ids.map((completionId, position) => ({ rankingId, position, level: wanted.levels[position]!, promptId: body.promptId, completionId }))),
    ]);
  } catch (err) {
    // A concurrent identical submission won the race; answer as for a retry.
    const raced = await findRanking(db, body.raterId, set);
    if (raced) return answerExisting(raced, wanted);
    throw err;
  }
  const created = await findRanking(db, body.raterId, set);
  return { created: true as const, ranking: created! };
}
