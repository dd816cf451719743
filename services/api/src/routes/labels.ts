import { and, asc, eq, gt, inArray, isNotNull, or } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { completions, prompts, rankings, scores } from "@ranklab/db";
import type { AppEnv, Db } from "../env.ts";
import { chunk } from "../lib/chunk.ts";
import { rankingViews } from "../lib/ranking-view.ts";
import { trainerOrAdmin } from "../lib/roles.ts";
import { countQuery, idString } from "../lib/schemas.ts";
import { groupsOf } from "../lib/tasks.ts";
import { validate } from "../middleware/validate.ts";

const labelsQuery = z
  .object({
    kind: z.enum(["ranking", "score"]),
    // Also the labels this lease holds (not trained yet); without it, trained labels only.
    lease: z.uuid().optional(),
    cursor: idString.optional(),
    limit: countQuery(1, 500, 500),
  })
  .strict();

type LabelTable = typeof rankings | typeof scores;

/** Trained labels, and those `lease` holds: the whole history a run trains on. */
const history = (table: LabelTable, lease: string | undefined, cursor: number | undefined) =>
  and(cursor ? gt(table.id, cursor) : undefined, or(isNotNull(table.trainedAt), lease ? eq(table.leaseId, lease) : undefined));

async function scoreViews(db: Db, rows: { id: number; raterId: number; completionId: number; value: number; source: string; createdAt: Date }[]) {
  const texts = new Map(
    (
      await Promise.all(
        chunk([...new Set(rows.map((r) => r.completionId))], 90).map((part) =>
          db
            .select({ id: completions.id, text: completions.text, promptId: prompts.id, prompt: prompts.text })
            .from(completions)
            .innerJoin(prompts, eq(prompts.id, completions.promptId))
            .where(inArray(completions.id, part)),
        ),
      )
    )
      .flat()
      .map((r) => [r.id, r]),
  );
  const groups = await groupsOf(
    db,
    rows.map((r) => r.completionId),
  );
  return rows.map((r) => {
    const c = texts.get(r.completionId)!;
    return { ...r, completion: c.text, promptId: c.promptId, prompt: c.prompt, group: groups.get(r.completionId) ?? [r.completionId] };
  });
}

export const labelRoutes = new Hono<AppEnv>()
  /**
   * Every label a training run learns from, with the texts: rankings (best first, ties
   * by level) or scores (with the group of 4 their completion belongs to, so scores of one
   * group can be compared like a ranking of it). Trained labels, plus those of `lease`;
   * paged by id, oldest first.
   */
  .get("/", trainerOrAdmin, validate("query", labelsQuery), async (c) => {
    const db = c.get("db");
    const { kind, lease, cursor, limit } = c.req.valid("query");
    if (kind === "ranking") {
      const rows = await db
        .select()
        .from(rankings)
        .where(history(rankings, lease, cursor))
        .orderBy(asc(rankings.id))
        .limit(limit);
      const items = (await rankingViews(db, rows)).map((view, i) => ({ ...view, trained: rows[i]!.trainedAt !== null }));
      return c.json({ kind, rankings: items, scores: [], nextCursor: rows.length === limit ? rows.at(-1)!.id : null });
    }
    const rows = await db
      .select({
        id: scores.id,
        raterId: scores.raterId,
        completionId: scores.completionId,
        value: scores.value,
        source: scores.source,
        createdAt: scores.createdAt,
        trainedAt: scores.trainedAt,
      })
      .from(scores)
      .where(history(scores, lease, cursor))
      .orderBy(asc(scores.id))
      .limit(limit);
    const items = (
      await scoreViews(
        db,
        rows.map(({ trainedAt: _t, ...r }) => r),
      )
    ).map((view, i) => ({ ...view, trained: rows[i]!.trainedAt !== null }));
    return c.json({ kind, rankings: [], scores: items, nextCursor: rows.length === limit ? rows.at(-1)!.id : null });
  });
