import { desc, eq, lt } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { raters, RATER_ROLES } from "@ranklab/db";
import type { AppEnv } from "../env.ts";
import { notFound } from "../errors.ts";
import { adminOnly, botOrAdmin } from "../lib/roles.ts";
import { idParam, paging } from "../lib/schemas.ts";
import { validate } from "../middleware/validate.ts";

/**
 * A rater is named by the service that authenticated them: `tg:<telegram user id>`
 * from the bot, `web:<login>` from the web page. A client never names itself.
 */
const externalId = z.string().regex(/^(tg|web|cli):[A-Za-z0-9_.@-]{1,64}$/, "expected tg:<id>, web:<login> or cli:<name>");

const registerRater = z.object({ externalId, displayName: z.string().trim().max(128).optional() }).strict();
const updateRater = z.object({ blocked: z.boolean().optional(), role: z.enum(RATER_ROLES).optional() }).strict();

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
    const items = await c.get("db").select().from(raters).where(cursor ? lt(raters.id, cursor) : undefined).orderBy(desc(raters.id)).limit(limit);
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
  });
