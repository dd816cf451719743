import { asc, eq, inArray } from "drizzle-orm";
import { completions, prompts, rankingItems, type rankings } from "@ranklab/db";
import type { Db } from "../env.ts";
import { chunk } from "./chunk.ts";

export interface RankedCompletion {
  id: number;
  text: string;
  checkpointId: number | null;
  /** Dense rank, 0 best; equal levels are ties. */
  level: number;
}

export interface RankingView {
  id: number;
  raterId: number;
  promptId: number;
  prompt: string;
  source: string;
  createdAt: Date;
  /** Best first; ties share a level. */
  completions: RankedCompletion[];
}

type RankingRow = typeof rankings.$inferSelect;

/** Attaches prompt text and the ordered completions to ranking rows, in two queries per 90 rankings. */
export async function rankingViews(db: Db, rows: RankingRow[]): Promise<RankingView[]> {
  const items = (
    await Promise.all(
      chunk(
        rows.map((r) => r.id),
        90,
      ).map((ids) =>
        db
          .select({
            rankingId: rankingItems.rankingId,
            id: completions.id,
            text: completions.text,
            checkpointId: completions.checkpointId,
            level: rankingItems.level,
          })
          .from(rankingItems)
          .innerJoin(completions, eq(completions.id, rankingItems.completionId))
          .where(inArray(rankingItems.rankingId, ids))
          .orderBy(asc(rankingItems.rankingId), asc(rankingItems.position)),
      ),
    )
  ).flat();
  const promptTexts = await promptTextById(
    db,
    rows.map((r) => r.promptId),
  );
  const byRanking = new Map<number, RankedCompletion[]>();
  for (const { rankingId, ...completion } of items) {
    const list = byRanking.get(rankingId) ?? [];
    list.push(completion);
    byRanking.set(rankingId, list);
  }
  return rows.map((r) => ({
    id: r.id,
    raterId: r.raterId,
    promptId: r.promptId,
    prompt: promptTexts.get(r.promptId) ?? "",
    source: r.source,
    createdAt: r.createdAt,
    completions: byRanking.get(r.id) ?? [],
  }));
}

export async function promptTextById(db: Db, ids: number[]): Promise<Map<number, string>> {
  const rows = (
    await Promise.all(
      chunk([...new Set(ids)], 90).map((part) => db.select({ id: prompts.id, text: prompts.text }).from(prompts).where(inArray(prompts.id, part))),
    )
  ).flat();
  return new Map(rows.map((r) => [r.id, r.text]));
}
