import { and, desc, eq, lt, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { rankingItems, rankings } from "@ranklab/db";
import type { AppEnv, Db } from "../env.ts";
import { ApiError, notFound } from "../errors.ts";
import { runBatch } from "../lib/batch.ts";
import { activeRater, requireCompletions, requirePrompts } from "../lib/lookups.ts";
import { completionSetKey, rankingViews } from "../lib/ranking-view.ts";
import { anyRole, botOrAdmin } from "../lib/roles.ts";
import { id, idParam, labelSource, paging } from "../lib/schemas.ts";
import { validate } from "../middleware/validate.ts";

const submitRanking = z.object({
  raterId: id,
  promptId: id,
  // Best first. 2–16 so that every pair fits one D1 statement and a person can read them.
  completionIds: z
    .array(id)
    .min(2)
    .max(16)
    .refine((ids) => new Set(ids).size === ids.length, "a completion may appear once"),
  source: labelSource,
}).strict();

const listQuery = paging.extend({ raterId: id.optional(), promptId: id.optional() });

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

export const rankingRoutes = new Hono<AppEnv>()
  /**
   * Stores a rank list, best first, as one transaction (the ranking and its items).
   * Idempotent like scores; the schema itself refuses a completion of another prompt.
   */
  .post("/", botOrAdmin, validate("json", submitRanking), async (c) => {
    const db = c.get("db");
    const body = c.req.valid("json");
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
    if (existing) return c.json(answerExisting(existing, body.completionIds), 200);

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
      if (raced) return c.json(answerExisting(raced, body.completionIds), 200);
      throw err;
    }
    const created = await findRanking(db, body.raterId, set);
    return c.json({ created: true as const, ranking: created! }, 201);
  })
  /** Stored rank lists, newest first, with texts: the Dataset view. */
  .get("/", anyRole, validate("query", listQuery), async (c) => {
    const db = c.get("db");
    const { limit, cursor, raterId, promptId } = c.req.valid("query");
    const rows = await db
      .select()
      .from(rankings)
      .where(
        and(
          cursor ? lt(rankings.id, cursor) : undefined,
          raterId ? eq(rankings.raterId, raterId) : undefined,
          promptId ? eq(rankings.promptId, promptId) : undefined,
        ),
      )
      .orderBy(desc(rankings.id))
      .limit(limit);
    return c.json({ items: await rankingViews(db, rows), nextCursor: rows.length === limit ? rows[rows.length - 1]!.id : null });
  })
  .get("/:id", anyRole, validate("param", idParam), async (c) => {
    const db = c.get("db");
    const { id: rankingId } = c.req.valid("param");
    const rows = await db.select().from(rankings).where(eq(rankings.id, rankingId));
    if (rows.length === 0) throw notFound(`ranking ${rankingId}`);
    const [view] = await rankingViews(db, rows);
    return c.json(view!);
  });
