import { desc, eq, lt } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { prompts, rankings } from "@ranklab/db";
import { ApiError, notFound } from "../errors.ts";
import { rankingToTsvLine } from "../lib/export-format.ts";
import { rankingViews } from "../lib/ranking-view.ts";
import { raterQuality, setRaterBlocked } from "../lib/rater-quality.ts";
import { id, idParam, levelsMatchIds, paging, rankedCompletionIds, rankLevels, str, text } from "../lib/schemas.ts";
import { storeRanking } from "../lib/store-ranking.ts";
import { nextRankTask } from "../lib/tasks.ts";
import { validate } from "../middleware/validate.ts";
import { streamRankings } from "../routes/exports.ts";
import { runsPage, runsQuery } from "./runs.ts";
import { roleForToken } from "../middleware/auth.ts";
import { endSession, requireWebAdmin, requireWebRater, startSession, type WebEnv } from "./session.ts";

// Any length: a wrong token of any size gets the same clear answer below, not a schema's text.
const login = z.object({ token: str().trim().max(512) }).strict();
const saveRanking = z
  .object({ promptId: id, completionIds: rankedCompletionIds, levels: rankLevels.optional() })
  .strict()
  .refine(...levelsMatchIds);
const newPrompt = z.object({ text: text(2000) }).strict();
const promptPatch = z.object({ active: z.boolean() }).strict();
const raterPatch = z.object({ blocked: z.boolean() }).strict();

/** The page's JSON API: the same rules and storage as /v1, with the rater from the login cookie. */
export const webApi = new Hono<WebEnv>()
  .post("/login", validate("json", login), async (c) => {
    const { token } = c.req.valid("json");
    const rater = token ? await startSession(c, token) : undefined;
    if (!rater) {
      // The API's bearer tokens (secrets.env) are for /v1 clients; say so rather than "unknown".
      if (token && roleForToken(c.env, token)) {
        throw new ApiError(
          401,
          "unauthorized",
          "that is an API bearer token (for /v1 clients such as the bot and the trainer), not a page login; npm start prints a login link for the page, and an admin makes page logins with POST /v1/raters/:id/web-logins",
        );
      }
      throw new ApiError(401, "unauthorized", "unknown, used or revoked login token");
    }
    return c.json({ rater: { id: rater.id, displayName: rater.displayName, role: rater.role } });
  })
  /** Ends this session server-side (the cookie then reads nothing, even where a copy of it is kept). */
  .post("/logout", async (c) => {
    await endSession(c);
    return c.json({ ok: true });
  })
  .use("/*", requireWebRater)
  .get("/me", (c) => {
    const rater = c.get("rater");
    return c.json({ id: rater.id, displayName: rater.displayName, role: rater.role, externalId: rater.externalId });
  })
  /**
   * The next group to rank: the same groups of 4 the bot hands out (lib/tasks.ts), one
   * this person has not ranked, among the least-ranked; so a web ranking and a Telegram
   * ranking of a group are of the same set, and agreement covers both.
   */
  .get("/task", async (c) => {
    const task = await nextRankTask(c.get("db"), c.get("rater").id);
    if (!task || task.kind !== "rank")
      throw new ApiError(404, "not_found", "no group is waiting for you to rank; the trainer posts new completions after each run");
    return c.json({ prompt: task.prompt, completions: task.completions });
  })
  .post("/rankings", validate("json", saveRanking), async (c) => {
    const body = c.req.valid("json");
    const result = await storeRanking(c.get("db"), { ...body, raterId: c.get("rater").id, source: "web" });
    return c.json(result, result.created ? 201 : 200);
  })
  /** Stored rank lists of every rater, newest first, paged by id. */
  .get("/rankings", validate("query", paging), async (c) => {
    const db = c.get("db");
    const { limit, cursor } = c.req.valid("query");
    const rows = await db
      .select()
      .from(rankings)
      .where(cursor ? lt(rankings.id, cursor) : undefined)
      .orderBy(desc(rankings.id))
      .limit(limit);
    return c.json({ items: await rankingViews(db, rows), nextCursor: rows.length === limit ? rows[rows.length - 1]!.id : null });
  })
  .get("/rankings.tsv", (c) =>
    c.body(streamRankings(c.get("db"), {}, rankingToTsvLine), 200, {
      "content-type": "text/tab-separated-values; charset=utf-8",
      "content-disposition": 'attachment; filename="rankings.tsv"',
    }),
  )
  .get("/prompts", requireWebAdmin, async (c) => {
    const items = await c.get("db").select().from(prompts).orderBy(desc(prompts.id)).limit(500);
    return c.json({ items });
  })
  .post("/prompts", requireWebAdmin, validate("json", newPrompt), async (c) => {
    const [created] = await c
      .get("db")
      .insert(prompts)
      .values({ text: c.req.valid("json").text, source: "web" })
      .onConflictDoNothing()
      .returning();
    if (!created) throw new ApiError(409, "conflict", "that prompt is already in the pool");
    return c.json(created, 201);
  })
  /** The Runs tab (admins): training runs, newest first, with their checkpoints and the figures its charts draw (web/runs.ts). */
  .get("/runs", requireWebAdmin, validate("query", runsQuery), async (c) => c.json(await runsPage(c.get("db"), c.req.valid("query"))))
  .patch("/prompts/:id", requireWebAdmin, validate("param", idParam), validate("json", promptPatch), async (c) => {
    const { id: promptId } = c.req.valid("param");
    const [updated] = await c.get("db").update(prompts).set(c.req.valid("json")).where(eq(prompts.id, promptId)).returning();
    if (!updated) throw notFound(`prompt ${promptId}`);
    return c.json(updated);
  })
  /**
   * Live agreement for the Dataset tab, for every logged-in rater: the active reward
   * checkpoint's model–rater and rater–rater tau, and this rater's own held-out accuracy
   * (only admins see every rater's, through /raters-quality).
   */
  .get("/agreement", async (c) => c.json(await raterQuality(c.get("db"), { raterId: c.get("rater").id })))
  /** Every rater's reliability and held-out accuracy from the active reward checkpoint, with the taus (the Dataset tab). */
  .get("/raters-quality", requireWebAdmin, async (c) => c.json(await raterQuality(c.get("db"), { all: true })))
  /** Blocks or unblocks a rater; an admin cannot block themselves. */
  .patch("/raters/:id", requireWebAdmin, validate("param", idParam), validate("json", raterPatch), async (c) => {
    const { id: raterId } = c.req.valid("param");
    const rater = await setRaterBlocked(c.get("db"), raterId, c.req.valid("json").blocked, c.get("rater"));
    return c.json({ id: rater.id, displayName: rater.displayName, role: rater.role, blocked: rater.blocked });
  });
