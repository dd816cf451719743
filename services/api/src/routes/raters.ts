import { and, desc, eq, isNull, lt } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { raters, RATER_ROLES, webLogins } from "@ranklab/db";
import type { AppEnv } from "../env.ts";
import { ApiError, notFound } from "../errors.ts";
import { newLoginToken, tokenSha256 } from "../lib/login-token.ts";
import { setRaterBlocked } from "../lib/rater-quality.ts";
import { adminOnly, botOrAdmin } from "../lib/roles.ts";
import { id, idParam, idString, paging, str } from "../lib/schemas.ts";
import { validate } from "../middleware/validate.ts";

/**
 * A rater is named by the service that authenticated them: `tg:<telegram user id>`
 * from the bot, `web:<login>` from the web page. A client never names itself.
 */
const externalId = str().regex(/^(tg|web|cli):[A-Za-z0-9_.@-]{1,64}$/, "expected tg:<id>, web:<login> or cli:<name>");

const registerRater = z.object({ externalId, displayName: str().trim().max(128).optional() }).strict();
const updateRater = z
  .object({ blocked: z.boolean().optional(), role: z.enum(RATER_ROLES).optional() })
  .strict()
  .refine((v) => v.blocked !== undefined || v.role !== undefined, "give at least one of: blocked, role");
/** A block or unblock asked for by a rater (`byRaterId`, whom the bot vouches for): they must be an admin. */
const blockByRater = z.object({ blocked: z.boolean(), byRaterId: id }).strict();
// singleUse: good for one page session (the login link npm start prints for its local admin).
const createWebLogin = z.object({ label: str().trim().min(1).max(64).optional(), singleUse: z.boolean().optional() }).strict();

export const raterRoutes = new Hono<AppEnv>()
  /** Registers a rater, or returns the one already registered under that external id. */
  .post("/", botOrAdmin, validate("json", registerRater), async (c) => {
    const db = c.get("db");
    const body = c.req.valid("json");
    const [created] = await db.insert(raters).values(body).onConflictDoNothing().returning();
    if (created) return c.json(created, 201);
    const [existing] = await db.select().from(raters).where(eq(raters.externalId, body.externalId));
    return c.json(existing!, 200);
  })
  .get("/", adminOnly, validate("query", paging), async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const items = await c
      .get("db")
      .select()
      .from(raters)
      .where(cursor ? lt(raters.id, cursor) : undefined)
      .orderBy(desc(raters.id))
      .limit(limit);
    return c.json({ items, nextCursor: items.length === limit ? items[items.length - 1]!.id : null });
  })
  .get("/by-external/:externalId", botOrAdmin, validate("param", z.object({ externalId })), async (c) => {
    const { externalId: wanted } = c.req.valid("param");
    const [rater] = await c.get("db").select().from(raters).where(eq(raters.externalId, wanted));
    if (!rater) throw notFound(`rater ${wanted}`);
    return c.json(rater);
  })
  .patch("/:id", adminOnly, validate("param", idParam), validate("json", updateRater), async (c) => {
    const { id } = c.req.valid("param");
    const [rater] = await c.get("db").update(raters).set(c.req.valid("json")).where(eq(raters.id, id)).returning();
    if (!rater) throw notFound(`rater ${id}`);
    return c.json(rater);
  })
  /**
   * Blocks or unblocks a rater on behalf of another rater, `byRaterId` (the bot's /block):
   * allowed only when that rater is an admin and not the one being blocked. The same
   * rules as the page's PATCH /app/api/raters/:id.
   */
  .put("/:id/blocked", botOrAdmin, validate("param", idParam), validate("json", blockByRater), async (c) => {
    const db = c.get("db");
    const { id: raterId } = c.req.valid("param");
    const { blocked, byRaterId } = c.req.valid("json");
    const [actor] = await db.select().from(raters).where(eq(raters.id, byRaterId));
    if (!actor) throw notFound(`rater ${byRaterId}`);
    return c.json(await setRaterBlocked(db, raterId, blocked, actor));
  })
  /**
   * A login token for the web page, for this rater: answered once, stored only as its
   * SHA-256. The page then labels as this rater (the same identity as on Telegram).
   */
  .post("/:id/web-logins", adminOnly, validate("param", idParam), validate("json", createWebLogin), async (c) => {
    const db = c.get("db");
    const { id: raterId } = c.req.valid("param");
    const [rater] = await db.select().from(raters).where(eq(raters.id, raterId));
    if (!rater) throw notFound(`rater ${raterId}`);
    if (rater.blocked) throw new ApiError(409, "conflict", `rater ${raterId} is blocked`);
    const token = newLoginToken();
    const [login] = await db
      .insert(webLogins)
      .values({ raterId, tokenSha256: await tokenSha256(token), label: c.req.valid("json").label ?? null, singleUse: c.req.valid("json").singleUse ?? false })
      .returning({ id: webLogins.id, raterId: webLogins.raterId, label: webLogins.label, singleUse: webLogins.singleUse, createdAt: webLogins.createdAt });
    return c.json({ ...login!, token }, 201);
  })
  /** Revokes a web login; the page refuses it from the next request on. */
  .delete("/:id/web-logins/:loginId", adminOnly, validate("param", idParam.extend({ loginId: idString })), async (c) => {
    const { id: raterId, loginId } = c.req.valid("param");
    const [login] = await c
      .get("db")
      .update(webLogins)
      .set({ revokedAt: new Date() })
      .where(and(eq(webLogins.id, loginId), eq(webLogins.raterId, raterId), isNull(webLogins.revokedAt)))
      .returning({ id: webLogins.id });
    if (!login) throw notFound(`active web login ${loginId} of rater ${raterId}`);
    return c.json({ revoked: login.id });
  });
