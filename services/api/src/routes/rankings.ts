import { and, desc, eq, lt } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { rankings } from "@ranklab/db";
import type { AppEnv } from "../env.ts";
import { notFound } from "../errors.ts";
import { rankingViews } from "../lib/ranking-view.ts";
import { storeRanking } from "../lib/store-ranking.ts";
import { anyRole, botOrAdmin } from "../lib/roles.ts";
import { id, idParam, idString, labelSource, levelsMatchIds, paging, rankedCompletionIds, rankLevels } from "../lib/schemas.ts";
import { validate } from "../middleware/validate.ts";

const submitRanking = z
  .object({ raterId: id, promptId: id, completionIds: rankedCompletionIds, levels: rankLevels.optional(), source: labelSource })
  .strict()
  .refine(...levelsMatchIds);

const listQuery = paging.extend({ raterId: idString.optional(), promptId: idString.optional() });

export const rankingRoutes = new Hono<AppEnv>()
  /**
   * Stores a rank list, best first, with optional ties (`levels`), as one transaction
   * (the ranking and its items). Idempotent like scores; the schema itself refuses a
   * completion of another prompt.
   */
  .post("/", botOrAdmin, validate("json", submitRanking), async (c) => {
    const result = await storeRanking(c.get("db"), c.req.valid("json"));
    return c.json(result, result.created ? 201 : 200);
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
