import { asc, eq, gt, inArray, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { completions, goldGroupItems, goldGroups, type GoldGroup } from "@ranklab/db";
import type { AppEnv, Db } from "../env.ts";
import { ApiError, notFound } from "../errors.ts";
import { runBatch } from "../lib/batch.ts";
import { chunk } from "../lib/chunk.ts";
import { requireGroupOfPrompt } from "../lib/lookups.ts";
import { groupKey } from "../lib/group-key.ts";
import { promptTextById } from "../lib/ranking-view.ts";
import { adminOnly, trainerOrAdmin } from "../lib/roles.ts";
import { countQuery, id, idParam, idString, levelsMatchIds, rankedCompletionIds, rankLevels } from "../lib/schemas.ts";
import { canonicalRanking, describeOrder } from "../lib/store-ranking.ts";
import { validate } from "../middleware/validate.ts";

/** A gold order: the same shape as a ranking (best first, ties by `levels`), with no rater. */
const newGoldGroup = z
  .object({ promptId: id, completionIds: rankedCompletionIds, levels: rankLevels.optional() })
  .strict()
  .refine(...levelsMatchIds)
  .refine((b) => !b.levels || b.levels.some((l) => l > 0), {
    message: "a gold order must put at least one completion above another (these levels tie them all)",
    path: ["levels"],
  });

const listQuery = z.object({ cursor: idString.optional(), limit: countQuery(1, 500, 500) }).strict();

export interface GoldGroupView {
  id: number;
  promptId: number;
  prompt: string;
  createdAt: Date;
  /** Best first; ties share a level. */
  completions: { id: number; text: string; level: number }[];
}

/** Gold rows with their prompt text and ordered completions. */
async function goldViews(db: Db, rows: GoldGroup[]): Promise<GoldGroupView[]> {
  const items = (
    await Promise.all(
      chunk(
        rows.map((r) => r.id),
        90,
      ).map((ids) =>
        db
          .select({ goldGroupId: goldGroupItems.goldGroupId, id: completions.id, text: completions.text, level: goldGroupItems.level })
          .from(goldGroupItems)
          .innerJoin(completions, eq(completions.id, goldGroupItems.completionId))
          .where(inArray(goldGroupItems.goldGroupId, ids))
          .orderBy(asc(goldGroupItems.goldGroupId), asc(goldGroupItems.position)),
      ),
    )
  ).flat();
  const prompts = await promptTextById(
    db,
    rows.map((r) => r.promptId),
  );
  const byGroup = new Map<number, GoldGroupView["completions"]>();
  for (const { goldGroupId, ...c } of items) byGroup.set(goldGroupId, [...(byGroup.get(goldGroupId) ?? []), c]);
  return rows.map((r) => ({
    id: r.id,
    promptId: r.promptId,
    prompt: prompts.get(r.promptId) ?? "",
    createdAt: r.createdAt,
    completions: byGroup.get(r.id) ?? [],
  }));
}

async function goldBySet(db: Db, set: string) {
  const rows = await db.select().from(goldGroups).where(eq(goldGroups.completionSet, set));
  return rows.length > 0 ? (await goldViews(db, rows))[0] : undefined;
}

/** The same set again: a retry when the order matches, else 409 (delete the old order first). */
function answerExisting(existing: GoldGroupView, wanted: { ids: number[]; levels: number[] }) {
  const stored = describeOrder(
    existing.completions.map((c) => c.id),
    existing.completions.map((c) => c.level),
  );
  if (stored !== describeOrder(wanted.ids, wanted.levels)) {
    throw new ApiError(
      409,
      "conflict",
      `gold group ${existing.id} already orders these completions as ${stored}; DELETE /v1/gold-groups/${existing.id} first to change it`,
    );
  }
  return { created: false as const, goldGroup: existing };
}

/**
 * Gold groups: groups whose true order an admin knows. The trainer reads them with the
 * label history and counts raters' judgements of their pairs as evidence with known
 * truth in its reliability estimate (gpu-trainer preferences/reliability.ts).
 */
export const goldGroupRoutes = new Hono<AppEnv>()
  /** Marks a group's known order; idempotent like rankings (same set and order: 200; another order: 409). */
  .post("/", adminOnly, validate("json", newGoldGroup), async (c) => {
    const db = c.get("db");
    const body = c.req.valid("json");
    await requireGroupOfPrompt(db, body.promptId, body.completionIds);
    const wanted = canonicalRanking(body.completionIds, body.levels);
    const set = groupKey(body.completionIds);
    const existing = await goldBySet(db, set);
    if (existing) return c.json(answerExisting(existing, wanted), 200);
    const goldGroupId = sql`(SELECT id FROM gold_groups WHERE completion_set = ${set})`;
    try {
      await runBatch(db, [
        db.insert(goldGroups).values({ promptId: body.promptId, completionSet: set }),
        db
          .insert(goldGroupItems)
          .values(
            wanted.ids.map((completionId, position) => ({ goldGroupId, position, level: wanted.levels[position]!, promptId: body.promptId, completionId })),
          ),
      ]);
    } catch (err) {
      // A concurrent identical request won the race.
      const raced = await goldBySet(db, set);
      if (raced) return c.json(answerExisting(raced, wanted), 200);
      throw err;
    }
    return c.json({ created: true as const, goldGroup: (await goldBySet(db, set))! }, 201);
  })
  /** Every gold group, oldest first, paged by id: what the trainer reads before estimating reliability. */
  .get("/", trainerOrAdmin, validate("query", listQuery), async (c) => {
    const db = c.get("db");
    const { cursor, limit } = c.req.valid("query");
    const rows = await db
      .select()
      .from(goldGroups)
      .where(cursor ? gt(goldGroups.id, cursor) : undefined)
      .orderBy(asc(goldGroups.id))
      .limit(limit);
    return c.json({ items: await goldViews(db, rows), nextCursor: rows.length === limit ? rows.at(-1)!.id : null });
  })
  .get("/:id", trainerOrAdmin, validate("param", idParam), async (c) => {
    const db = c.get("db");
    const { id: goldId } = c.req.valid("param");
    const rows = await db.select().from(goldGroups).where(eq(goldGroups.id, goldId));
    if (rows.length === 0) throw notFound(`gold group ${goldId}`);
    return c.json((await goldViews(db, rows))[0]!);
  })
  /** Unmarks a group (its items go with it); raters' labels of it stay. */
  .delete("/:id", adminOnly, validate("param", idParam), async (c) => {
    const { id: goldId } = c.req.valid("param");
    const [deleted] = await c.get("db").delete(goldGroups).where(eq(goldGroups.id, goldId)).returning({ id: goldGroups.id });
    if (!deleted) throw notFound(`gold group ${goldId}`);
    return c.json({ deleted: deleted.id });
  });
