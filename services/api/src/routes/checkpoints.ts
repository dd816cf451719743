import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { CHECKPOINT_KINDS, checkpointUploads, checkpoints, completionRewards, completions, trainingRuns } from "@ranklab/db";
import type { AppEnv } from "../env.ts";
import { ApiError, notFound } from "../errors.ts";
import { runBatch } from "../lib/batch.ts";
import { parseByteRange } from "../lib/byte-range.ts";
import { publicView } from "../lib/checkpoint-view.ts";
import { storeHashed } from "../lib/hashed-stream.ts";
import { requireCheckpoint } from "../lib/lookups.ts";
import { adminOnly, anyRole, trainerOrAdmin } from "../lib/roles.ts";
import { boundedJson, id, idParam, str } from "../lib/schemas.ts";
import { validate } from "../middleware/validate.ts";
import { checkpointUploadRoutes, configuredPartSize, dropUpload } from "./checkpoint-uploads.ts";

const sha256 = str().regex(/^[0-9a-f]{64}$/, "expected 64 lowercase hex digits");
const kind = z.enum(CHECKPOINT_KINDS);

const publishCheckpoint = z
  .object({
    kind,
    sha256,
    sizeBytes: z.number().int().positive(),
    // Evaluation figures (accuracy, margin, reward_mean, …), shown beside the checkpoint.
    metrics: boundedJson(z.record(str().max(64), z.number()), { maxDepth: 1, maxChars: 16 * 1024 }).default({}),
    // The run's config and the model's config.json, so a checkpoint can be reproduced.
    // Bounded, because it is stored and served as it is: 16 levels and 64 KiB hold any model config.
    config: boundedJson(z.record(str().max(64), z.unknown()), { maxDepth: 16, maxChars: 64 * 1024 }).default({}),
    trainingRunId: id.optional(),
    // Set when the trainer's gate refused the checkpoint (e.g. "held-out accuracy 0.71 < active 0.78 on 240 pairs"):
    // it is stored with its file and metrics for inspection, and can never be activated.
    rejectedReason: str().trim().min(1).max(1000).optional(),
  })
  .strict();

// At most 500 rewards a request; 3 bound values a row, 30 rows a statement (D1 binds 100).
const postRewards = z
  .object({
    rewards: z
      .array(z.object({ completionId: id, reward: z.number().finite() }).strict())
      .min(1)
      .max(500),
  })
  .strict();

const listQuery = z.object({ kind: kind.optional(), status: z.enum(["pending", "ready"]).optional() });

export const checkpointRoutes = new Hono<AppEnv>()
  /**
   * Step 1 of publishing: records the checkpoint's metadata as `pending`. The file
   * follows in parts (POST /:id/uploads, see checkpoint-uploads.ts), or with one PUT
   * /:id/file when it fits in one part. Publishing the same sha256 again returns the first record.
   */
  .post("/", trainerOrAdmin, validate("json", publishCheckpoint), async (c) => {
    const db = c.get("db");
    const body = c.req.valid("json");
    const max = Number(c.env.MAX_CHECKPOINT_BYTES);
    if (body.sizeBytes > max) throw new ApiError(413, "payload_too_large", `checkpoint of ${body.sizeBytes} bytes exceeds MAX_CHECKPOINT_BYTES (${max})`);
    if (body.trainingRunId) {
      const [run] = await db.select({ id: trainingRuns.id }).from(trainingRuns).where(eq(trainingRuns.id, body.trainingRunId));
      if (!run) throw notFound(`training run ${body.trainingRunId}`);
    }
    const sameArchive = and(eq(checkpoints.kind, body.kind), eq(checkpoints.sha256, body.sha256));
    const firstRecord = async () => {
      const [existing] = await db.select().from(checkpoints).where(sameArchive);
      if (existing && existing.sizeBytes !== body.sizeBytes) {
        throw new ApiError(409, "conflict", `checkpoint ${existing.id} has sha256 ${body.sha256} but ${existing.sizeBytes} bytes, not ${body.sizeBytes}`);
      }
      return existing;
    };
    const existing = await firstRecord();
    if (existing) return c.json(publicView(existing), 200);
    const [created] = await db
      .insert(checkpoints)
      .values({
        ...body,
        // The next version of this kind, computed inside the INSERT so two publishers cannot share one.
        version: sql`(SELECT coalesce(max(version), 0) + 1 FROM checkpoints WHERE kind = ${body.kind})`,
        r2Key: `${body.kind}/${body.sha256}`,
      })
      .onConflictDoNothing()
      .returning();
    if (created) return c.json(publicView(created), 201);
    // A publish of the same archive at the same moment stored it first: answer its record, as a repeat gets.
    const winner = await firstRecord();
    if (!winner) throw new ApiError(409, "conflict", `checkpoint ${body.kind}/${body.sha256} could not be stored; try again`);
    return c.json(publicView(winner), 200);
  })
  .get("/", anyRole, validate("query", listQuery), async (c) => {
    const { kind: wanted, status } = c.req.valid("query");
    const rows = await c
      .get("db")
      .select()
      .from(checkpoints)
      .where(and(wanted ? eq(checkpoints.kind, wanted) : undefined, status ? eq(checkpoints.status, status) : undefined))
      .orderBy(desc(checkpoints.id))
      .limit(200);
    return c.json({ items: rows.map(publicView) });
  })
  .get("/active/:kind", anyRole, validate("param", z.object({ kind })), async (c) => {
    const wanted = c.req.valid("param").kind;
    const [active] = await c
      .get("db")
      .select()
      .from(checkpoints)
      .where(and(eq(checkpoints.kind, wanted), eq(checkpoints.active, true)));
    if (!active) throw notFound(`an active ${wanted} checkpoint`);
    return c.json(publicView(active));
  })
  /** The policy an admin marked as PPO's reference; 404 when none is marked (the trainer then uses the policy it started from). */
  .get("/reference/:kind", anyRole, validate("param", z.object({ kind })), async (c) => {
    const wanted = c.req.valid("param").kind;
    const [reference] = await c
      .get("db")
      .select()
      .from(checkpoints)
      .where(and(eq(checkpoints.kind, wanted), eq(checkpoints.reference, true)));
    if (!reference) throw notFound(`a reference ${wanted} checkpoint`);
    return c.json(publicView(reference));
  })
  .get("/:id", anyRole, validate("param", idParam), async (c) => c.json(publicView(await requireCheckpoint(c.get("db"), c.req.valid("param").id))))
  /**
   * Step 2 for an archive of at most one part (CHECKPOINT_PART_BYTES): the file in one
   * request, streamed into R2. The body's length and sha256 must match what step 1
   * declared; on a mismatch this request's object is deleted and the checkpoint stays
   * pending. Each request streams to a key of its own, so parallel uploads cannot harm each other.
   * A larger archive goes in parts (POST /:id/uploads): Cloudflare refuses bodies over 100 MB.
   */
  .put("/:id/file", trainerOrAdmin, validate("param", idParam), async (c) => {
    const db = c.get("db");
    const checkpoint = await requireCheckpoint(db, c.req.valid("param").id);
    if (checkpoint.status === "ready") return c.json(publicView(checkpoint), 200);
    const partSize = configuredPartSize(c.env);
    if (checkpoint.sizeBytes > partSize) {
      throw new ApiError(
        413,
        "payload_too_large",
        `checkpoint ${checkpoint.id} has ${checkpoint.sizeBytes} bytes, more than one request may carry (${partSize}); upload it in parts with POST /v1/checkpoints/${checkpoint.id}/uploads`,
      );
    }
    const length = Number(c.req.header("content-length"));
    if (!Number.isInteger(length)) throw new ApiError(411, "invalid_request", "Content-Length is required for a checkpoint upload");
    if (length !== checkpoint.sizeBytes) {
      throw new ApiError(400, "invalid_request", `body has ${length} bytes but checkpoint ${checkpoint.id} declared ${checkpoint.sizeBytes}`);
    }
    const body = c.req.raw.body;
    if (!body) throw new ApiError(400, "invalid_request", "empty body");
    // Each request writes its own key: two uploads at once (one with wrong bytes) can then
    // neither overwrite nor delete the other's object. R2 has no rename, so the winner's key
    // becomes the checkpoint's; the row changes only while it is still pending.
    const key = `${checkpoint.kind}/${checkpoint.sha256}/${crypto.randomUUID()}`;
    // Hash while streaming, so the file is never held in memory.
    const { sha256: actual } = await storeHashed(body, length, (sized) => c.env.CHECKPOINTS.put(key, sized, { customMetadata: { sha256: checkpoint.sha256 } }));
    if (actual !== checkpoint.sha256) {
      await c.env.CHECKPOINTS.delete(key);
      throw new ApiError(400, "checksum_mismatch", `uploaded file has sha256 ${actual}, checkpoint ${checkpoint.id} declared ${checkpoint.sha256}`);
    }
    const [ready] = await db
      .update(checkpoints)
      .set({ status: "ready", r2Key: key })
      .where(and(eq(checkpoints.id, checkpoint.id), eq(checkpoints.status, "pending")))
      .returning();
    if (!ready) {
      // Another upload of the same bytes finished first: its object serves the file, ours is a spare copy.
      await c.env.CHECKPOINTS.delete(key);
      return c.json(publicView(await requireCheckpoint(db, checkpoint.id)), 200);
    }
    // A multipart upload begun for the same archive has nothing left to do.
    const [upload] = await db.select().from(checkpointUploads).where(eq(checkpointUploads.checkpointId, checkpoint.id));
    if (upload) await dropUpload(c.env, db, checkpoint, upload);
    return c.json(publicView(ready!), 200);
  })
  /**
   * The archive, streamed from R2 (never held by the Worker). A `Range: bytes=…` header
   * gets 206 with that slice, so a client can resume a cut download or read it in pieces.
   */
  .get("/:id/file", anyRole, validate("param", idParam), async (c) => {
    const checkpoint = await requireCheckpoint(c.get("db"), c.req.valid("param").id);
    if (checkpoint.status !== "ready") throw new ApiError(409, "conflict", `checkpoint ${checkpoint.id} has no file yet (status ${checkpoint.status})`);
    const range = parseByteRange(c.req.header("range"), checkpoint.sizeBytes);
    const headers: Record<string, string> = {
      "content-type": "application/octet-stream",
      "accept-ranges": "bytes",
      etag: `"${checkpoint.sha256}"`,
      "x-checkpoint-sha256": checkpoint.sha256,
      "content-disposition": `attachment; filename="${checkpoint.kind}-v${checkpoint.version}.tar"`,
    };
    if (range === "unsatisfiable") {
      return new Response(null, { status: 416, headers: { ...headers, "content-range": `bytes */${checkpoint.sizeBytes}` } });
    }
    const object = await c.env.CHECKPOINTS.get(checkpoint.r2Key, range ? { range } : {});
    if (!object) throw notFound(`file of checkpoint ${checkpoint.id}`);
    if (!range) return new Response(object.body, { headers: { ...headers, "content-length": String(object.size) } });
    const last = range.offset + range.length - 1;
    return new Response(object.body, {
      status: 206,
      headers: { ...headers, "content-length": String(range.length), "content-range": `bytes ${range.offset}-${last}/${object.size}` },
    });
  })
  /** Makes this checkpoint the one in use for its kind, in one transaction. */
  .post("/:id/activate", trainerOrAdmin, validate("param", idParam), async (c) => {
    const db = c.get("db");
    const checkpoint = await requireCheckpoint(db, c.req.valid("param").id);
    if (checkpoint.status !== "ready") throw new ApiError(409, "conflict", `checkpoint ${checkpoint.id} cannot be activated before its file is uploaded`);
    if (checkpoint.rejectedReason !== null)
      throw new ApiError(409, "conflict", `checkpoint ${checkpoint.id} was rejected by the trainer's gate (${checkpoint.rejectedReason}); it cannot go live`);
    const now = new Date();
    await runBatch(db, [
      db
        .update(checkpoints)
        .set({ active: false })
        .where(and(eq(checkpoints.kind, checkpoint.kind), eq(checkpoints.active, true))),
      db.update(checkpoints).set({ active: true, activatedAt: now }).where(eq(checkpoints.id, checkpoint.id)),
    ]);
    return c.json(publicView({ ...checkpoint, active: true, activatedAt: now }));
  })
  /**
   * Marks a policy checkpoint as PPO's reference: from the next run on, every PPO run
   * measures and penalises KL against it (and the policy gate's diversity is compared
   * with it). One reference per kind; marking another moves the mark.
   */
  .post("/:id/reference", adminOnly, validate("param", idParam), async (c) => {
    const db = c.get("db");
    const checkpoint = await requireCheckpoint(db, c.req.valid("param").id);
    if (checkpoint.kind !== "policy")
      throw new ApiError(400, "invalid_request", `checkpoint ${checkpoint.id} is a ${checkpoint.kind} checkpoint; only a policy can be PPO's reference`);
    if (checkpoint.status !== "ready") throw new ApiError(409, "conflict", `checkpoint ${checkpoint.id} has no file yet`);
    // As activation does: a policy the gate refused (KL or diversity out of budget) must not anchor later runs.
    if (checkpoint.rejectedReason !== null)
      throw new ApiError(
        409,
        "conflict",
        `checkpoint ${checkpoint.id} was rejected by the trainer's gate (${checkpoint.rejectedReason}); it cannot be PPO's reference`,
      );
    await runBatch(db, [
      db
        .update(checkpoints)
        .set({ reference: false })
        .where(and(eq(checkpoints.kind, checkpoint.kind), eq(checkpoints.reference, true))),
      db.update(checkpoints).set({ reference: true }).where(eq(checkpoints.id, checkpoint.id)),
    ]);
    return c.json(publicView({ ...checkpoint, reference: true }));
  })
  /**
   * A reward checkpoint's rewards for completions, from the trainer once it is live: the
   * next rank task then favours the groups whose rewards lie closest together, where the
   * model is least sure. Posting a completion's reward again replaces it.
   */
  .post("/:id/completion-rewards", trainerOrAdmin, validate("param", idParam), validate("json", postRewards), async (c) => {
    const db = c.get("db");
    const checkpoint = await requireCheckpoint(db, c.req.valid("param").id);
    if (checkpoint.kind !== "reward")
      throw new ApiError(400, "invalid_request", `checkpoint ${checkpoint.id} is a ${checkpoint.kind} checkpoint; only a reward model scores completions`);
    const { rewards } = c.req.valid("json");
    const ids = [...new Set(rewards.map((r) => r.completionId))];
    if (ids.length !== rewards.length) throw new ApiError(400, "invalid_request", "each completion at most once a request");
    const known = new Set<number>();
    for (let i = 0; i < ids.length; i += 90) {
      for (const row of await db
        .select({ id: completions.id })
        .from(completions)
        .where(inArray(completions.id, ids.slice(i, i + 90))))
        known.add(row.id);
    }
    const missing = ids.filter((i) => !known.has(i));
    if (missing.length > 0) throw notFound(`completion ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ", …" : ""}`);
    const statements = [];
    for (let i = 0; i < rewards.length; i += 30) {
      statements.push(
        db
          .insert(completionRewards)
          .values(rewards.slice(i, i + 30).map((r) => ({ checkpointId: checkpoint.id, completionId: r.completionId, reward: r.reward })))
          .onConflictDoUpdate({ target: [completionRewards.checkpointId, completionRewards.completionId], set: { reward: sql`excluded.reward` } }),
      );
    }
    await runBatch(db, statements);
    return c.json({ stored: rewards.length });
  })
  .route("/:id/uploads", checkpointUploadRoutes);
