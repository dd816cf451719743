import { inArray, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { completions } from "@ranklab/db";
import type { AppEnv, Db } from "../env.ts";
import { activeRater } from "../lib/lookups.ts";
import { botOrAdmin } from "../lib/roles.ts";
import { id } from "../lib/schemas.ts";
import { validate } from "../middleware/validate.ts";

/** How many completions a rank task shows: the seed's labeling tool ranks 4. */
export const RANK_GROUP_SIZE = 4;

const nextTaskQuery = z.object({
  raterId: id,
  kind: z.enum(["score", "rank", "any"]).default("any"),
  // Completions the rater skipped (the bot's Skip), comma-separated: not offered again for now.
  exclude: z
    .string()
    .regex(/^\d+(,\d+){0,99}$/, "comma-separated completion ids, at most 100")
    .transform((v) => v.split(",").map(Number))
    .optional(),
});

export type Task =
  | { kind: "score"; prompt: { id: number; text: string }; completion: { id: number; text: string } }
  | { kind: "rank"; prompt: { id: number; text: string }; completions: { id: number; text: string }[] };

/**
 * A completion of an active prompt that this rater has not scored, among those with
 * the fewest scores so far (so work spreads across raters), ties broken at random.
 */
async function nextScoreTask(db: Db, raterId: number, exclude: number[] = []): Promise<Task | null> {
  const row = await db.get<{ id: number; text: string; promptId: number; promptText: string } | undefined>(sql`
    SELECT c.id AS id, c.text AS text, p.id AS promptId, p.text AS promptText
    FROM completions c JOIN prompts p ON p.id = c.prompt_id
    WHERE p.active = 1
      AND NOT EXISTS (SELECT 1 FROM scores s WHERE s.completion_id = c.id AND s.rater_id = ${raterId})
      ${exclude.length > 0 ? sql`AND c.id NOT IN (${sql.join(exclude.map((x) => sql`${x}`), sql`, `)})` : sql``}
    ORDER BY (SELECT count(*) FROM scores s WHERE s.completion_id = c.id), random()
    LIMIT 1`);
  if (!row) return null;
  return { kind: "score", prompt: { id: row.promptId, text: row.promptText }, completion: { id: row.id, text: row.text } };
}

/**
 * A group of RANK_GROUP_SIZE completions of one active prompt that this rater has
 * not ranked, among the groups with the fewest rankings. Groups are the prompt's
 * completions in id order, taken RANK_GROUP_SIZE at a time, so every rater who ranks
 * a group ranks the same set and their rankings can be compared (agreement).
 */
async function nextRankTask(db: Db, raterId: number, _exclude?: number[]): Promise<Task | null> {
  const row = await db.get<{ promptId: number; promptText: string; ids: string } | undefined>(sql`
    WITH numbered AS (
      SELECT c.id, c.prompt_id,
             (row_number() OVER (PARTITION BY c.prompt_id ORDER BY c.id) - 1) / ${sql.raw(String(RANK_GROUP_SIZE))} AS grp
      FROM completions c JOIN prompts p ON p.id = c.prompt_id
      WHERE p.active = 1
    ),
    grouped AS (
      SELECT prompt_id, group_concat(id, ',' ORDER BY id) AS ids, count(*) AS n
      FROM numbered GROUP BY prompt_id, grp
    )
    SELECT g.prompt_id AS promptId, p.text AS promptText, g.ids AS ids
    FROM grouped g JOIN prompts p ON p.id = g.prompt_id
    WHERE g.n = ${sql.raw(String(RANK_GROUP_SIZE))}
      AND NOT EXISTS (SELECT 1 FROM rankings r WHERE r.rater_id = ${raterId} AND r.completion_set = g.ids)
    ORDER BY (SELECT count(*) FROM rankings r WHERE r.completion_set = g.ids), random()
    LIMIT 1`);
  if (!row) return null;
  const ids = row.ids.split(",").map(Number);
  const rows = await db.select({ id: completions.id, text: completions.text }).from(completions).where(inArray(completions.id, ids));
  // Shown in random order so that the stored order reflects judgement, not position.
  return { kind: "rank", prompt: { id: row.promptId, text: row.promptText }, completions: shuffle(rows) };
}

function shuffle<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export const taskRoutes = new Hono<AppEnv>()
  /** The next labeling task for a rater; `{task: null}` when there is nothing left for them. */
  .get("/next", botOrAdmin, validate("query", nextTaskQuery), async (c) => {
    const db = c.get("db");
    const { raterId, kind, exclude } = c.req.valid("query");
    await activeRater(db, raterId);
    const order =
      kind === "score" ? [nextScoreTask] : kind === "rank" ? [nextRankTask] : Math.random() < 0.5 ? [nextRankTask, nextScoreTask] : [nextScoreTask, nextRankTask];
    for (const pick of order) {
      const task = await pick(db, raterId, exclude);
      if (task) return c.json({ task });
    }
    return c.json({ task: null });
  });
