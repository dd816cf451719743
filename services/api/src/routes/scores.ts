import { and, desc, eq, lt, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { scores } from "@ranklab/db";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { activeRater, requireCompletions } from "../lib/lookups.ts";
import { anyRole, botOrAdmin } from "../lib/roles.ts";
import { id, idString, labelSource, paging } from "../lib/schemas.ts";
import { validate } from "../middleware/validate.ts";

const submitScore = z
  .object({
    raterId: id,
    completionId: id,
    // The seed's human reward: 0.0 (bad) to 1.0 (good).
    value: z.number().min(0).max(1),
    source: labelSource,
  })
  .strict();

const listQuery = paging.extend({ raterId: idString.optional(), completionId: idString.optional() });

/** Public view: lease bookkeeping stays inside the API. */
const scoreView = ({ leaseId: _l, leaseExpiresAt: _e, ...rest }: typeof scores.$inferSelect) => rest;

export const scoreRoutes = new Hono<AppEnv>()
  /**
   * Stores one score. Idempotent: a retry (same rater, completion and value) returns
   * the first row with `created: false`; a different value for a scored item is a 409.
   */
  .post("/", botOrAdmin, validate("json", submitScore), async (c) => {
    const db = c.get("db");
    const body = c.req.valid("json");
    const createdAt = new Date();
    // Fast path, one round trip: insert only if the rater may label and the completion
    // exists. Nothing inserted means a retry, a conflict or a bad id: the slow path
    // below finds out which, with the lookups that name the problem.
    const inserted = await db.all<{ id: number }>(sql`
      INSERT INTO scores (rater_id, completion_id, value, source, created_at)
      SELECT ${body.raterId}, ${body.completionId}, ${body.value}, ${body.source}, ${createdAt.getTime()}
      WHERE EXISTS (SELECT 1 FROM raters WHERE id = ${body.raterId} AND blocked = 0)
        AND EXISTS (SELECT 1 FROM completions WHERE id = ${body.completionId})
      ON CONFLICT DO NOTHING
      RETURNING id`);
    if (inserted[0]) {
      return c.json({ created: true, score: { id: inserted[0].id, ...body, createdAt, trainedAt: null } }, 201);
    }
    await activeRater(db, body.raterId);
    await requireCompletions(db, [body.completionId]);
    const [first] = await db
      .select()
      .from(scores)
      .where(and(eq(scores.raterId, body.raterId), eq(scores.completionId, body.completionId)));
    if (!first) throw new Error("score neither inserted nor found");
    if (first.value !== body.value) {
      throw new ApiError(409, "conflict", `rater ${body.raterId} already scored completion ${body.completionId} as ${first.value}`);
    }
    return c.json({ created: false, score: scoreView(first) }, 200);
  })
  .get("/", anyRole, validate("query", listQuery), async (c) => {
    const { limit, cursor, raterId, completionId } = c.req.valid("query");
    const rows = await c
      .get("db")
      .select()
      .from(scores)
      .where(
        and(
          cursor ? lt(scores.id, cursor) : undefined,
          raterId ? eq(scores.raterId, raterId) : undefined,
          completionId ? eq(scores.completionId, completionId) : undefined,
        ),
      )
      .orderBy(desc(scores.id))
      .limit(limit);
    return c.json({ items: rows.map(scoreView), nextCursor: rows.length === limit ? rows[rows.length - 1]!.id : null });
  });
