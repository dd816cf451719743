import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { botSessions } from "@ranklab/db";
import type { AppEnv } from "../env.ts";
import { notFound } from "../errors.ts";
import { botOrAdmin } from "../lib/roles.ts";
import { boundedJson, str } from "../lib/schemas.ts";
import { validate } from "../middleware/validate.ts";

/** Telegraf's session keys are `<chat id>:<user id>`; anything printable and short is allowed. */
const keyParam = z.object({ key: str().regex(/^[\w:.-]{1,128}$/, "1–128 letters, digits or _:.-") });
/** A session is small JSON (a rank in progress, ~4 levels deep); 16 levels and 16 KiB are far above what the bot stores. */
const MAX_SESSION_CHARS = 16 * 1024;
const putBody = z
  .object({ value: boundedJson(z.unknown(), { maxDepth: 16, maxChars: MAX_SESSION_CHARS }) })
  .strict()
  // null would be stored as SQL NULL, which the column refuses: DELETE removes a session.
  .refine((b) => b.value !== undefined && b.value !== null, { message: "value is required and not null (DELETE removes a session)", path: ["value"] });

/** The labeler bot's session store (see the bot_sessions table). */
export const botSessionRoutes = new Hono<AppEnv>()
  .get("/:key", botOrAdmin, validate("param", keyParam), async (c) => {
    const { key } = c.req.valid("param");
    const [row] = await c.get("db").select().from(botSessions).where(eq(botSessions.key, key));
    if (!row) throw notFound(`session ${key}`);
    return c.json({ key: row.key, value: row.value, updatedAt: row.updatedAt });
  })
  .put("/:key", botOrAdmin, validate("param", keyParam), validate("json", putBody), async (c) => {
    const { key } = c.req.valid("param");
    const { value } = c.req.valid("json");
    const now = new Date();
    await c
      .get("db")
      .insert(botSessions)
      .values({ key, value, updatedAt: now })
      .onConflictDoUpdate({ target: botSessions.key, set: { value, updatedAt: now } });
    return c.json({ key, value, updatedAt: now });
  })
  .delete("/:key", botOrAdmin, validate("param", keyParam), async (c) => {
    const { key } = c.req.valid("param");
    await c.get("db").delete(botSessions).where(eq(botSessions.key, key));
    return c.json({ deleted: key });
  });
