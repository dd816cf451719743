import { and, desc, eq, lt } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { completions } from "@ranklab/db";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { runBatch } from "../lib/batch.ts";
import { chunk, rowsPerStatement } from "../lib/chunk.ts";
import { requireCheckpoint, requirePrompts } from "../lib/lookups.ts";
import { anyRole, trainerOrAdmin } from "../lib/roles.ts";
import { boundedJson, id, idString, MAX_COMPLETION_CHARS, paging, str, text } from "../lib/schemas.ts";
import { validate } from "../middleware/validate.ts";

/** Sampling settings as the trainer used them (temperature, top_k, top_p, max_new_tokens, seed, …). */
const generationSettings = boundedJson(z.record(str().max(64), z.union([z.number(), str().max(256), z.boolean(), z.null()])), {
  maxDepth: 1,
  maxChars: 8 * 1024,
});

const createCompletions = z
  .object({
    checkpointId: id.nullable().default(null),
    generation: generationSettings.default({}),
    completions: z
      .array(z.object({ promptId: id, text: text(MAX_COMPLETION_CHARS), generation: generationSettings.optional() }).strict())
      .min(1)
      .max(500),
  })
  .strict();

const listQuery = paging.extend({ promptId: idString.optional(), checkpointId: idString.optional() });

export const completionRoutes = new Hono<AppEnv>()
  /** Bulk create, all or nothing: from the trainer, with the checkpoint that wrote them. */
  .post("/", trainerOrAdmin, validate("json", createCompletions), async (c) => {
    const db = c.get("db");
    const body = c.req.valid("json");
    await requirePrompts(
      db,
      body.completions.map((x) => x.promptId),
    );
    if (body.checkpointId !== null) {
      const checkpoint = await requireCheckpoint(db, body.checkpointId);
      if (checkpoint.kind !== "policy") {
        throw new ApiError(400, "invalid_request", `checkpoint ${checkpoint.id} is a ${checkpoint.kind} checkpoint; completions come from a policy`);
      }
    }
    const rows = body.completions.map((x) => ({
      promptId: x.promptId,
      text: x.text,
      checkpointId: body.checkpointId,
      generation: { ...body.generation, ...x.generation },
    }));
    const inserted = await runBatch<(typeof completions.$inferSelect)[]>(
      db,
      chunk(rows, rowsPerStatement(5)).map((part) => db.insert(completions).values(part).returning()),
    );
    return c.json({ completions: inserted.flat() }, 201);
  })
  .get("/", anyRole, validate("query", listQuery), async (c) => {
    const { limit, cursor, promptId, checkpointId } = c.req.valid("query");
    const items = await c
      .get("db")
      .select()
      .from(completions)
      .where(
        and(
          cursor ? lt(completions.id, cursor) : undefined,
          promptId ? eq(completions.promptId, promptId) : undefined,
          checkpointId ? eq(completions.checkpointId, checkpointId) : undefined,
        ),
      )
      .orderBy(desc(completions.id))
      .limit(limit);
    return c.json({ items, nextCursor: items.length === limit ? items[items.length - 1]!.id : null });
  });
