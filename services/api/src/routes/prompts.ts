import { and, desc, eq, inArray, lt, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { prompts } from "@ranklab/db";
import type { AppEnv } from "../env.ts";
import { notFound } from "../errors.ts";
import { runBatch } from "../lib/batch.ts";
import { chunk, rowsPerStatement } from "../lib/chunk.ts";
import { adminOnly, anyRole, trainerOrAdmin } from "../lib/roles.ts";
import { booleanQuery, idParam, MAX_PROMPT_CHARS, paging, str, text } from "../lib/schemas.ts";
import { validate } from "../middleware/validate.ts";

const createPrompts = z
  .object({
    prompts: z
      .array(z.object({ text: text(MAX_PROMPT_CHARS), source: str().trim().min(1).max(64).optional() }).strict())
      .min(1)
      .max(500),
  })
  .strict();

const listQuery = paging.extend({ active: booleanQuery.optional() });
const updatePrompt = z
  .object({ active: z.boolean().optional(), text: text(MAX_PROMPT_CHARS).optional() })
  .strict()
  .refine((v) => v.active !== undefined || v.text !== undefined, "give at least one of: active, text");

export const promptRoutes = new Hono<AppEnv>()
  /** Bulk create; a text already stored is kept as it is and returned, so re-imports are harmless. */
  .post("/", trainerOrAdmin, validate("json", createPrompts), async (c) => {
    const db = c.get("db");
    const rows = dedupeByText(c.req.valid("json").prompts);
    const inserted = await runBatch<{ id: number }[]>(
      db,
      chunk(rows, rowsPerStatement(5)).map((part) =>
        db
          .insert(prompts)
          .values(part.map((p) => ({ text: p.text, source: p.source ?? "manual" })))
          .onConflictDoNothing()
          .returning({ id: prompts.id }),
      ),
    );
    const created = inserted.flat().length;
    const stored = (
      await Promise.all(
        chunk(
          rows.map((r) => r.text),
          90,
        ).map((texts) => db.select().from(prompts).where(inArray(prompts.text, texts))),
      )
    ).flat();
    return c.json({ created, prompts: stored }, created > 0 ? 201 : 200);
  })
  .get("/", anyRole, validate("query", listQuery), async (c) => {
    const { limit, cursor, active } = c.req.valid("query");
    const items = await c
      .get("db")
      .select()
      .from(prompts)
      .where(and(cursor ? lt(prompts.id, cursor) : undefined, active === undefined ? undefined : eq(prompts.active, active)))
      .orderBy(desc(prompts.id))
      .limit(limit);
    return c.json({ items, nextCursor: items.length === limit ? items[items.length - 1]!.id : null });
  })
  /** One active prompt drawn uniformly: the seed's "Random prompt" button. */
  .get("/random", anyRole, async (c) => {
    const [prompt] = await c.get("db").select().from(prompts).where(eq(prompts.active, true)).orderBy(sql`random()`).limit(1);
    if (!prompt) throw notFound("an active prompt");
    return c.json(prompt);
  })
  .get("/:id", anyRole, validate("param", idParam), async (c) => {
    const [prompt] = await c
      .get("db")
      .select()
      .from(prompts)
      .where(eq(prompts.id, c.req.valid("param").id));
    if (!prompt) throw notFound(`prompt ${c.req.valid("param").id}`);
    return c.json(prompt);
  })
  .patch("/:id", adminOnly, validate("param", idParam), validate("json", updatePrompt), async (c) => {
    const { id } = c.req.valid("param");
    const [prompt] = await c.get("db").update(prompts).set(c.req.valid("json")).where(eq(prompts.id, id)).returning();
    if (!prompt) throw notFound(`prompt ${id}`);
    return c.json(prompt);
  });

function dedupeByText<T extends { text: string }>(rows: T[]): T[] {
  const seen = new Map<string, T>();
  for (const row of rows) if (!seen.has(row.text)) seen.set(row.text, row);
  return [...seen.values()];
}
