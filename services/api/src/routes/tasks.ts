import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../env.ts";
import { activeRater } from "../lib/lookups.ts";
import { botOrAdmin } from "../lib/roles.ts";
import { idString, str } from "../lib/schemas.ts";
import { nextRankTask, nextScoreTask } from "../lib/tasks.ts";
import { validate } from "../middleware/validate.ts";

export { RANK_GROUP_SIZE, type Task } from "../lib/tasks.ts";

const nextTaskQuery = z.object({
  raterId: idString,
  kind: z.enum(["score", "rank", "any"]).default("any"),
  // Completions the rater skipped (the bot's Skip), comma-separated: not offered again for now.
  exclude: str()
    .regex(/^[1-9][0-9]{0,14}(,[1-9][0-9]{0,14}){0,99}$/, "comma-separated completion ids (decimal digits), at most 100")
    .transform((v) => v.split(",").map(Number))
    .optional(),
});

export const taskRoutes = new Hono<AppEnv>()
  /** The next labeling task for a rater; `{task: null}` when there is nothing left for them. */
  .get("/next", botOrAdmin, validate("query", nextTaskQuery), async (c) => {
    const db = c.get("db");
    const { raterId, kind, exclude } = c.req.valid("query");
    await activeRater(db, raterId);
    const score = () => nextScoreTask(db, raterId, exclude);
    const rank = () => nextRankTask(db, raterId);
    const order = kind === "score" ? [score] : kind === "rank" ? [rank] : Math.random() < 0.5 ? [rank, score] : [score, rank];
    for (const pick of order) {
      const task = await pick();
      if (task) return c.json({ task });
    }
    return c.json({ task: null });
  });
