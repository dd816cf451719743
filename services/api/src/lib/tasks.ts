import { and, eq, inArray, sql } from "drizzle-orm";
import { checkpoints, completionRewards, completions } from "@ranklab/db";
import type { Db } from "../env.ts";
import { chunk } from "./chunk.ts";
import { candidateOrderSql, isUniformPick, pickRankGroup } from "./task-picking.ts";

/** How many completions a rank task shows: the seed's labeling tool ranks 4. */
export const RANK_GROUP_SIZE = 4;

export type Task =
  | { kind: "score"; prompt: { id: number; text: string }; completion: { id: number; text: string } }
  | { kind: "rank"; prompt: { id: number; text: string }; completions: { id: number; text: string }[] };

/**
 * A prompt's completions in id order, RANK_GROUP_SIZE at a time: the groups every rater
 * ranks (on Telegram and on the page), so their rankings of a group can be compared and
 * a score's completion belongs to one group too. `grp` is the group's index in its prompt.
 */
const numberedCompletions = (where: ReturnType<typeof sql>) => sql`
  SELECT c.id, c.prompt_id, c.text,
         (row_number() OVER (PARTITION BY c.prompt_id ORDER BY c.id) - 1) / ${sql.raw(String(RANK_GROUP_SIZE))} AS grp
  FROM completions c JOIN prompts p ON p.id = c.prompt_id
  WHERE ${where}`;

/**
 * A completion of an active prompt that this rater has not scored, among those with
 * the fewest scores so far (so work spreads across raters), ties broken at random.
 */
export async function nextScoreTask(db: Db, raterId: number, exclude: number[] = []): Promise<Task | null> {
  const row = await db.get<{ id: number; text: string; promptId: number; promptText: string } | undefined>(sql`
    SELECT c.id AS id, c.text AS text, p.id AS promptId, p.text AS promptText
    FROM completions c JOIN prompts p ON p.id = c.prompt_id
    WHERE p.active = 1
      AND NOT EXISTS (SELECT 1 FROM scores s WHERE s.completion_id = c.id AND s.rater_id = ${raterId})
      ${
        exclude.length > 0
          ? sql`AND c.id NOT IN (${sql.join(
              exclude.map((x) => sql`${x}`),
              sql`, `,
            )})`
          : sql``
      }
    ORDER BY (SELECT count(*) FROM scores s WHERE s.completion_id = c.id), random()
    LIMIT 1`);
  if (!row) return null;
  return { kind: "score", prompt: { id: row.promptId, text: row.promptText }, completion: { id: row.id, text: row.text } };
}

export { byNeed, MIN_RANKINGS_PER_GROUP, rewardMargin, UNIFORM_TASK_SHARE } from "./task-picking.ts";

/**
 * A full group of an active prompt that this rater has not ranked, picked by
 * task-picking.ts (which `npm run bench labeling` measures): groups begun but ranked
 * fewer than MIN_RANKINGS_PER_GROUP times first, then unranked ones; within that, usually
 * the one the active reward model is least sure about (its rewards, posted by the
 * trainer, closest together), and a quarter of the time (UNIFORM_TASK_SHARE) one at
 * random, as before any model existed. Its completions come in random order, so that the
 * stored order reflects judgement, not position.
 */
export async function nextRankTask(db: Db, raterId: number, random: () => number = Math.random): Promise<Task | null> {
  const candidates = await db.all<{ promptId: number; promptText: string; ids: string; rankings: number }>(sql`
    WITH numbered AS (${numberedCompletions(sql`p.active = 1`)}),
    grouped AS (
      SELECT prompt_id, group_concat(id, ',' ORDER BY id) AS ids, count(*) AS n, count(DISTINCT text) AS texts
      FROM numbered GROUP BY prompt_id, grp
    )
    SELECT g.prompt_id AS promptId, p.text AS promptText, g.ids AS ids,
           (SELECT count(*) FROM rankings r WHERE r.completion_set = g.ids) AS rankings
    FROM grouped g JOIN prompts p ON p.id = g.prompt_id
    WHERE g.n = ${sql.raw(String(RANK_GROUP_SIZE))}
      -- A group with two identical completions asks a rater to order a text against itself: not offered.
      AND g.texts = g.n
      AND NOT EXISTS (SELECT 1 FROM rankings r WHERE r.rater_id = ${raterId} AND r.completion_set = g.ids)
    ${sql.raw(candidateOrderSql("rankings"))}`);
  if (candidates.length === 0) return null;
  const groups = candidates.map((c) => ({ ...c, members: c.ids.split(",").map(Number) }));
  const uniform = isUniformPick(random);
  const rewards = uniform
    ? new Map<number, number>()
    : await activeRewards(
        db,
        groups.flatMap((g) => g.members),
      );
  const row = pickRankGroup(groups, uniform, rewards)!;
  const ids = row.ids.split(",").map(Number);
  const rows = await db.select({ id: completions.id, text: completions.text }).from(completions).where(inArray(completions.id, ids));
  return { kind: "rank", prompt: { id: row.promptId, text: row.promptText }, completions: shuffle(rows) };
}

/** The active reward checkpoint's posted rewards for `completionIds` (empty without one). */
async function activeRewards(db: Db, completionIds: number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const part of chunk(completionIds, 90)) {
    const rows = await db
      .select({ id: completionRewards.completionId, reward: completionRewards.reward })
      .from(completionRewards)
      .innerJoin(checkpoints, eq(checkpoints.id, completionRewards.checkpointId))
      .where(and(eq(checkpoints.kind, "reward"), eq(checkpoints.active, true), inArray(completionRewards.completionId, part)));
    for (const r of rows) out.set(r.id, r.reward);
  }
  return out;
}

/** The group (completion ids, ascending) each of `completionIds` belongs to. */
export async function groupsOf(db: Db, completionIds: readonly number[]): Promise<Map<number, number[]>> {
  if (completionIds.length === 0) return new Map();
  const promptIds = (
    await Promise.all(
      chunk([...new Set(completionIds)], 90).map((part) =>
        db.selectDistinct({ promptId: completions.promptId }).from(completions).where(inArray(completions.id, part)),
      ),
    )
  )
    .flat()
    .map((r) => r.promptId);
  const rows = (
    await Promise.all(
      chunk(promptIds, 90).map((part) =>
        db.all<{ id: number; prompt_id: number; grp: number }>(
          numberedCompletions(
            sql`c.prompt_id IN (${sql.join(
              part.map((p) => sql`${p}`),
              sql`, `,
            )})`,
          ),
        ),
      ),
    )
  ).flat();
  const members = new Map<string, number[]>();
  for (const r of rows) {
    const key = `${r.prompt_id}:${r.grp}`;
    members.set(key, [...(members.get(key) ?? []), r.id]);
  }
  const wanted = new Set(completionIds);
  const out = new Map<number, number[]>();
  for (const r of rows)
    if (wanted.has(r.id))
      out.set(
        r.id,
        members.get(`${r.prompt_id}:${r.grp}`)!.sort((a, b) => a - b),
      );
  return out;
}

function shuffle<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
