import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { completions, leases, prompts, rankings, scores } from "@ranklab/db";
import type { AppEnv, Db } from "../env.ts";
import { ApiError, notFound } from "../errors.ts";
import { runBatch } from "../lib/batch.ts";
import { chunk } from "../lib/chunk.ts";
import { rankingViews } from "../lib/ranking-view.ts";
import { trainerOnly } from "../lib/roles.ts";
import { id, str } from "../lib/schemas.ts";
import { validate } from "../middleware/validate.ts";

const createLease = z
  .object({
    holder: str().trim().min(1).max(128),
    // Upper bounds keep one response a few MB at most.
    limit: z.number().int().min(1).max(2000).default(256),
    ttlSeconds: z
      .number()
      .int()
      .min(1)
      .max(24 * 3600)
      .default(600),
    kinds: z
      .array(z.enum(["score", "ranking"]))
      .min(1)
      .default(["ranking", "score"]),
  })
  .strict();

const extendLease = z
  .object({
    ttlSeconds: z
      .number()
      .int()
      .min(1)
      .max(24 * 3600),
  })
  .strict();
const releaseReason = str().trim().min(1).max(500);
const releaseLease = z.object({ reason: releaseReason }).strict();
/**
 * Optional: the labels the trainer used. Left out, every label of the lease is
 * acknowledged; given, only these are, and the lease's other labels go back to the pool
 * with `releaseReason` (e.g. "made no preference pair yet").
 */
const ackLease = z
  .object({
    rankingIds: z.array(id).max(2000).optional(),
    scoreIds: z.array(id).max(2000).optional(),
    releaseReason: releaseReason.optional(),
  })
  .strict();
const leaseParam = z.object({ id: z.uuid() });

type LabelTable = typeof scores | typeof rankings;

/**
 * Takes up to `limit` pooled labels of one table for `leaseId` in one UPDATE ... RETURNING.
 * SQLite runs it atomically, so a label is never handed to two leases; a label whose
 * lease expired is back in the pool by the `lease_expires_at <= now` test alone.
 */
async function take(db: Db, table: LabelTable, leaseId: string, now: Date, expiresAt: Date, limit: number): Promise<number[]> {
  if (limit <= 0) return [];
  const pool = sql`SELECT id FROM ${table} WHERE trained_at IS NULL AND (lease_expires_at IS NULL OR lease_expires_at <= ${now.getTime()}) ORDER BY id LIMIT ${limit}`;
  const taken = await db.update(table).set({ leaseId, leaseExpiresAt: expiresAt }).where(sql`${table.id} IN (${pool})`).returning({ id: table.id });
  return taken.map((r) => r.id);
}

async function leasedScores(db: Db, ids: number[]) {
  return (
    await Promise.all(
      chunk(ids, 90).map((part) =>
        db
          .select({
            id: scores.id,
            raterId: scores.raterId,
            value: scores.value,
            completionId: completions.id,
            completion: completions.text,
            promptId: prompts.id,
            prompt: prompts.text,
          })
          .from(scores)
          .innerJoin(completions, eq(completions.id, scores.completionId))
          .innerJoin(prompts, eq(prompts.id, completions.promptId))
          .where(inArray(scores.id, part)),
      ),
    )
  ).flat();
}

async function leasedRankings(db: Db, ids: number[]) {
  const rows = (await Promise.all(chunk(ids, 90).map((part) => db.select().from(rankings).where(inArray(rankings.id, part))))).flat();
  return rankingViews(db, rows);
}

async function requireLease(db: Db, id: string) {
  const [lease] = await db.select().from(leases).where(eq(leases.id, id));
  if (!lease) throw notFound(`lease ${id}`);
  return lease;
}

export const leaseRoutes = new Hono<AppEnv>()
  /**
   * Leases a batch of labels that no trainer has trained on or holds. Rank lists come
   * first (they carry the most information), scores fill the rest of `limit`.
   * Answers `{lease: null}` when the pool is empty.
   */
  .post("/", trainerOnly, validate("json", createLease), async (c) => {
    const db = c.get("db");
    const body = c.req.valid("json");
    const now = new Date();
    const expiresAt = new Date(now.getTime() + body.ttlSeconds * 1000);
    const leaseId = crypto.randomUUID();
    await db.insert(leases).values({ id: leaseId, holder: body.holder, expiresAt, scoreCount: 0, rankingCount: 0, createdAt: now });
    const rankingIds = body.kinds.includes("ranking") ? await take(db, rankings, leaseId, now, expiresAt, body.limit) : [];
    const scoreIds = body.kinds.includes("score") ? await take(db, scores, leaseId, now, expiresAt, body.limit - rankingIds.length) : [];
    if (rankingIds.length + scoreIds.length === 0) {
      await db.delete(leases).where(eq(leases.id, leaseId));
      return c.json({ lease: null, rankings: [], scores: [] });
    }
    const [lease] = await db.update(leases).set({ rankingCount: rankingIds.length, scoreCount: scoreIds.length }).where(eq(leases.id, leaseId)).returning();
    return c.json({ lease: lease!, rankings: await leasedRankings(db, rankingIds), scores: await leasedScores(db, scoreIds) }, 201);
  })
  .get("/:id", trainerOnly, validate("param", leaseParam), async (c) => c.json(await requireLease(c.get("db"), c.req.valid("param").id)))
  /**
   * Marks the lease's labels trained: all of them, or the `rankingIds`/`scoreIds` the
   * trainer used, releasing the others to the pool. Idempotent; refused with 409 once
   * the lease has expired or was released, because its labels are back in the pool and
   * may be another trainer's now.
   */
  .post("/:id/ack", trainerOnly, validate("param", leaseParam), validate("json", ackLease), async (c) => {
    const db = c.get("db");
    const lease = await requireLease(db, c.req.valid("param").id);
    const body = c.req.valid("json");
    if (lease.ackedAt) return c.json({ lease, acknowledged: { rankings: 0, scores: 0 }, released: { rankings: 0, scores: 0 } });
    if (lease.releasedAt) throw new ApiError(409, "conflict", `lease ${lease.id} was released (${lease.releaseReason}); its labels are back in the pool`);
    const now = new Date();
    if (lease.expiresAt.getTime() <= now.getTime()) {
      throw new ApiError(409, "lease_expired", `lease ${lease.id} expired at ${lease.expiresAt.toISOString()}; its labels are back in the pool`);
    }
    const partial = body.rankingIds !== undefined || body.scoreIds !== undefined;
    const held = (table: LabelTable) => and(eq(table.leaseId, lease.id), isNull(table.trainedAt));
    // D1 binds at most 100 values a statement: the used ids go 90 at a time, in the same batch.
    const train = (table: LabelTable, ids: number[] | undefined) =>
      partial
        ? chunk(ids ?? [], 90).map((part) =>
            db
              .update(table)
              .set({ trainedAt: now })
              .where(and(held(table), inArray(table.id, part)))
              .returning({ id: table.id }),
          )
        : [db.update(table).set({ trainedAt: now }).where(held(table)).returning({ id: table.id })];
    const rankingUpdates = train(rankings, body.rankingIds);
    const scoreUpdates = train(scores, body.scoreIds);
    // A batch runs in order, in one transaction: what the lease still holds after the updates above was not used.
    const results = await runBatch<{ id: number }[]>(db, [
      db
        .update(leases)
        .set({ ackedAt: now, ...(partial ? { releaseReason: body.releaseReason ?? "not used by the run" } : {}) })
        .where(and(eq(leases.id, lease.id), isNull(leases.ackedAt)))
        .returning({ id: leases.id }),
      ...rankingUpdates,
      ...scoreUpdates,
      ...(partial
        ? [
            db.update(rankings).set({ leaseId: null, leaseExpiresAt: null }).where(held(rankings)).returning({ id: rankings.id }),
            db.update(scores).set({ leaseId: null, leaseExpiresAt: null }).where(held(scores)).returning({ id: scores.id }),
          ]
        : []),
    ]);
    const count = (from: number, n: number) => results.slice(from, from + n).reduce((sum, rows) => sum + rows.length, 0);
    const acked = results[0]!;
    const ackedRankings = count(1, rankingUpdates.length);
    const ackedScores = count(1 + rankingUpdates.length, scoreUpdates.length);
    const releasedRankings = partial ? results.at(-2)!.length : 0;
    const releasedScores = partial ? results.at(-1)!.length : 0;
    const [after] = await db.select().from(leases).where(eq(leases.id, lease.id));
    const done = acked!.length > 0;
    return c.json({
      lease: after!,
      acknowledged: done ? { rankings: ackedRankings, scores: ackedScores } : { rankings: 0, scores: 0 },
      released: done ? { rankings: releasedRankings, scores: releasedScores } : { rankings: 0, scores: 0 },
    });
  })
  /** Keeps a long training step's labels: moves the expiry to now + ttlSeconds. */
  .post("/:id/extend", trainerOnly, validate("param", leaseParam), validate("json", extendLease), async (c) => {
    const db = c.get("db");
    const lease = await requireLease(db, c.req.valid("param").id);
    const now = new Date();
    if (lease.ackedAt) throw new ApiError(409, "conflict", `lease ${lease.id} is already acknowledged`);
    if (lease.releasedAt) throw new ApiError(409, "conflict", `lease ${lease.id} was released`);
    if (lease.expiresAt.getTime() <= now.getTime()) throw new ApiError(409, "lease_expired", `lease ${lease.id} expired at ${lease.expiresAt.toISOString()}`);
    const expiresAt = new Date(now.getTime() + c.req.valid("json").ttlSeconds * 1000);
    const held = (table: LabelTable) => and(eq(table.leaseId, lease.id), isNull(table.trainedAt));
    await runBatch(db, [
      db.update(leases).set({ expiresAt }).where(eq(leases.id, lease.id)),
      db.update(rankings).set({ leaseExpiresAt: expiresAt }).where(held(rankings)),
      db.update(scores).set({ leaseExpiresAt: expiresAt }).where(held(scores)),
    ]);
    return c.json({ ...lease, expiresAt });
  })
  /**
   * Gives the lease's labels back to the pool before it expires, untrained, with the
   * reason (e.g. too few labels to train on yet): a trainer acknowledges only what it
   * trained on. Releasing a released lease answers it again; an acknowledged one is 409.
   */
  .post("/:id/release", trainerOnly, validate("param", leaseParam), validate("json", releaseLease), async (c) => {
    const db = c.get("db");
    const lease = await requireLease(db, c.req.valid("param").id);
    if (lease.ackedAt) throw new ApiError(409, "conflict", `lease ${lease.id} is already acknowledged; its labels are trained`);
    if (lease.releasedAt) return c.json({ lease, released: { rankings: 0, scores: 0 } });
    const now = new Date();
    const held = (table: LabelTable) => and(eq(table.leaseId, lease.id), isNull(table.trainedAt));
    const [, freedRankings, freedScores] = await runBatch<{ id: number }[]>(db, [
      db
        .update(leases)
        .set({ releasedAt: now, releaseReason: c.req.valid("json").reason, expiresAt: now })
        .where(eq(leases.id, lease.id))
        .returning({ id: leases.id }),
      db.update(rankings).set({ leaseId: null, leaseExpiresAt: null }).where(held(rankings)).returning({ id: rankings.id }),
      db.update(scores).set({ leaseId: null, leaseExpiresAt: null }).where(held(scores)).returning({ id: scores.id }),
    ]);
    const [after] = await db.select().from(leases).where(eq(leases.id, lease.id));
    return c.json({ lease: after!, released: { rankings: freedRankings!.length, scores: freedScores!.length } });
  });
