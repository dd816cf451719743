import { and, asc, gt, gte, lt, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { rankings } from "@ranklab/db";
import type { AppEnv, Db } from "../env.ts";
import { rankingToPairLines, rankingToTsvLine } from "../lib/export-format.ts";
import { rankingViews, type RankingView } from "../lib/ranking-view.ts";
import { anyRole, trainerOrAdmin } from "../lib/roles.ts";
import { idString, instant } from "../lib/schemas.ts";
import { validate } from "../middleware/validate.ts";

const exportQuery = z
  .object({
    since: instant.optional(),
    until: instant.optional(),
    // Only rank lists whose completions were all written by this policy checkpoint.
    checkpointId: idString.optional(),
  })
  .refine((q) => !q.since || !q.until || q.since < q.until, { message: "since must be before until", path: ["since"] });

export type ExportQuery = z.infer<typeof exportQuery>;

const PAGE = 100;

function filters(q: ExportQuery, after: number) {
  return and(
    gt(rankings.id, after),
    q.since ? gte(rankings.createdAt, q.since) : undefined,
    q.until ? lt(rankings.createdAt, q.until) : undefined,
    q.checkpointId
      ? sql`NOT EXISTS (SELECT 1 FROM ranking_items i JOIN completions c ON c.id = i.completion_id
              WHERE i.ranking_id = ${rankings.id} AND (c.checkpoint_id IS NULL OR c.checkpoint_id <> ${q.checkpointId}))`
      : undefined,
  );
}

/**
 * Streams rank lists page by page (keyset on id), so an export of any size uses
 * constant memory in the Worker and the first bytes leave at once.
 */
export function streamRankings(db: Db, q: ExportQuery, format: (r: RankingView) => string): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let after = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const rows = await db.select().from(rankings).where(filters(q, after)).orderBy(asc(rankings.id)).limit(PAGE);
      if (rows.length > 0) {
        after = rows[rows.length - 1]!.id;
        controller.enqueue(encoder.encode((await rankingViews(db, rows)).map(format).join("")));
      }
      if (rows.length < PAGE) controller.close();
    },
  });
}

export const exportRoutes = new Hono<AppEnv>()
  /** The seed's rank-list TSV: one list a line, best first, tab-separated. */
  .get("/rankings.tsv", anyRole, validate("query", exportQuery), (c) =>
    c.body(streamRankings(c.get("db"), c.req.valid("query"), rankingToTsvLine), 200, {
      "content-type": "text/tab-separated-values; charset=utf-8",
      "content-disposition": 'attachment; filename="rankings.tsv"',
    }),
  )
  /** Pairwise JSONL (`prompt`, `chosen`, `rejected`), the format trl's RewardTrainer and DPO read. */
  .get("/pairs.jsonl", trainerOrAdmin, validate("query", exportQuery), (c) =>
    c.body(streamRankings(c.get("db"), c.req.valid("query"), rankingToPairLines), 200, {
      "content-type": "application/x-ndjson; charset=utf-8",
      "content-disposition": 'attachment; filename="pairs.jsonl"',
    }),
  );
