import { and, asc, eq, exists, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { checkpoints, checkpointUploadParts, checkpointUploads, type Checkpoint, type CheckpointUpload } from "@ranklab/db";
import type { AppEnv, Db, Env } from "../env.ts";
import { ApiError, notFound } from "../errors.ts";
import { runBatch } from "../lib/batch.ts";
import { publicView } from "../lib/checkpoint-view.ts";
import { sha256OfStream, storeHashed } from "../lib/hashed-stream.ts";
import { requireCheckpoint } from "../lib/lookups.ts";
import { trainerOrAdmin } from "../lib/roles.ts";
import { idParam, idString, str } from "../lib/schemas.ts";
import { validate } from "../middleware/validate.ts";

/**
 * Checkpoint archives in parts, through R2's multipart API: Cloudflare refuses request
 * bodies over 100 MB (Free and Pro plans), and a full-size policy is several hundred MB.
 *
 *   POST   /v1/checkpoints/:id/uploads                          start, or resume: the parts R2 already holds
 *   PUT    /v1/checkpoints/:id/uploads/:uploadId/parts/:n       part n (1-based), with X-Part-Sha256
 *   POST   /v1/checkpoints/:id/uploads/:uploadId/complete       assemble, check the whole sha256, mark ready
 *   DELETE /v1/checkpoints/:id/uploads/:uploadId                abort
 *
 * Integrity: each part is hashed as it streams into R2 and refused (400, not recorded)
 * unless it matches its header; completing reads the assembled object back and refuses it
 * unless its sha256 is the one the checkpoint was published with. The state lives in D1,
 * so a trainer that crashed resumes with the parts already stored.
 */

/** R2 refuses parts under 5 MiB (except the last); Cloudflare refuses bodies over 100 MB. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
export const MAX_PART_BYTES = 95 * 1024 * 1024;

/** The part size new uploads get (CHECKPOINT_PART_BYTES); a value R2 or Cloudflare would refuse is a deployment error. */
export function configuredPartSize(env: Env): number {
  const size = Number(env.CHECKPOINT_PART_BYTES);
  if (!Number.isInteger(size) || size < MIN_PART_BYTES || size > MAX_PART_BYTES) {
    throw new Error(
      `CHECKPOINT_PART_BYTES is ${JSON.stringify(env.CHECKPOINT_PART_BYTES)}; set it to an integer from ${MIN_PART_BYTES} to ${MAX_PART_BYTES} in wrangler.toml`,
    );
  }
  return size;
}

/** Bytes in part `n` (1-based) of an upload: every part is partSize except the last. */
export const partBytes = (upload: Pick<CheckpointUpload, "partSize" | "partCount">, sizeBytes: number, n: number) =>
  n < upload.partCount ? upload.partSize : sizeBytes - upload.partSize * (upload.partCount - 1);

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "expected 64 lowercase hex digits");
const uploadParam = z.object({ id: idString, uploadId: str().min(1).max(1024) });
const partParam = uploadParam.extend({ n: idString.pipe(z.number().max(10_000, "at most 10000 parts")) });
const partHeaders = z.object({ "x-part-sha256": sha256 });

async function uploadState(db: Db, upload: CheckpointUpload, checkpoint: Checkpoint) {
  const parts = await db
    .select({ partNumber: checkpointUploadParts.partNumber, sha256: checkpointUploadParts.sha256, sizeBytes: checkpointUploadParts.sizeBytes })
    .from(checkpointUploadParts)
    .where(eq(checkpointUploadParts.checkpointId, upload.checkpointId))
    .orderBy(asc(checkpointUploadParts.partNumber));
  return {
    checkpointId: checkpoint.id,
    uploadId: upload.uploadId,
    sizeBytes: checkpoint.sizeBytes,
    partSize: upload.partSize,
    partCount: upload.partCount,
    parts,
  };
}

/** The pending checkpoint and its upload named by the URL; 404 when the upload was completed, aborted or never existed. */
async function requireUpload(db: Db, checkpointId: number, uploadId: string) {
  const checkpoint = await requireCheckpoint(db, checkpointId);
  const [upload] = await db
    .select()
    .from(checkpointUploads)
    .where(and(eq(checkpointUploads.checkpointId, checkpointId), eq(checkpointUploads.uploadId, uploadId)));
  if (!upload)
    throw notFound(
      `upload ${uploadId} of checkpoint ${checkpointId} (completed, aborted or never started; POST /v1/checkpoints/${checkpointId}/uploads starts one)`,
    );
  return { checkpoint, upload };
}

/**
 * The row of this upload, not of whatever upload the checkpoint has now: a request still
 * running for an aborted upload must never touch the upload started after it.
 */
const thisUpload = (checkpointId: number, uploadId: string) => and(eq(checkpointUploads.checkpointId, checkpointId), eq(checkpointUploads.uploadId, uploadId));

/** R2 forgets an unfinished upload after a while (7 days by default); the row then only misleads. */
const isNoSuchUpload = (err: unknown) =>
  err instanceof Error && /NoSuchUpload|multipart upload does not exist|10024/.test(`${err.message} ${String(err.cause ?? "")}`);

/** Forgets an upload's state in D1 and lets R2 drop its parts. */
export async function dropUpload(env: Env, db: Db, checkpoint: Checkpoint, upload: CheckpointUpload) {
  await db.delete(checkpointUploads).where(thisUpload(upload.checkpointId, upload.uploadId));
  try {
    await env.CHECKPOINTS.resumeMultipartUpload(checkpoint.r2Key, upload.uploadId).abort();
  } catch (err) {
    if (!isNoSuchUpload(err)) throw err;
  }
}

export const checkpointUploadRoutes = new Hono<AppEnv>()
  /**
   * Starts an upload of the checkpoint's archive (201), or answers the one already
   * started (200) with the parts R2 holds, so a trainer that crashed sends only the rest.
   */
  .post("/", trainerOrAdmin, validate("param", idParam), async (c) => {
    const db = c.get("db");
    const checkpoint = await requireCheckpoint(db, c.req.valid("param").id);
    if (checkpoint.status === "ready") throw new ApiError(409, "conflict", `checkpoint ${checkpoint.id} already has its file`);
    const [existing] = await db.select().from(checkpointUploads).where(eq(checkpointUploads.checkpointId, checkpoint.id));
    if (existing) return c.json(await uploadState(db, existing, checkpoint), 200);

    const partSize = configuredPartSize(c.env);
    const partCount = Math.ceil(checkpoint.sizeBytes / partSize);
    const multipart = await c.env.CHECKPOINTS.createMultipartUpload(checkpoint.r2Key, { customMetadata: { sha256: checkpoint.sha256 } });
    const [created] = await db
      .insert(checkpointUploads)
      .values({ checkpointId: checkpoint.id, uploadId: multipart.uploadId, partSize, partCount })
      .onConflictDoNothing()
      .returning();
    if (!created) {
      // Another start won the race: drop ours and answer theirs.
      await multipart.abort();
      const [winner] = await db.select().from(checkpointUploads).where(eq(checkpointUploads.checkpointId, checkpoint.id));
      if (!winner) throw new ApiError(409, "conflict", `the upload of checkpoint ${checkpoint.id} changed while starting; try again`);
      return c.json(await uploadState(db, winner, checkpoint), 200);
    }
    return c.json(await uploadState(db, created, checkpoint), 201);
  })
  /**
   * Part `n` of the archive, streamed into R2 while it is hashed. Its length must be the
   * part's (partSize, or the rest for the last part) and its sha256 the X-Part-Sha256
   * header's; otherwise 400 and the part is not recorded (send it again). Sending a part
   * again replaces it.
   */
  .put("/:uploadId/parts/:n", trainerOrAdmin, validate("param", partParam), validate("header", partHeaders), async (c) => {
    const db = c.get("db");
    const { id: checkpointId, uploadId, n } = c.req.valid("param");
    const declared = c.req.valid("header")["x-part-sha256"];
    const { checkpoint, upload } = await requireUpload(db, checkpointId, uploadId);
    if (n > upload.partCount)
      throw new ApiError(400, "invalid_request", `part ${n} is out of range: checkpoint ${checkpointId}'s archive has ${upload.partCount} part(s)`);
    const expected = partBytes(upload, checkpoint.sizeBytes, n);
    const length = Number(c.req.header("content-length"));
    if (!Number.isInteger(length) || c.req.header("content-length") === undefined)
      throw new ApiError(411, "invalid_request", "Content-Length is required for a part");
    if (length !== expected) {
      throw new ApiError(
        400,
        "invalid_request",
        `part ${n} has ${length} bytes but must have ${expected} (part size ${upload.partSize}, archive ${checkpoint.sizeBytes} bytes)`,
      );
    }
    const body = c.req.raw.body;
    if (!body) throw new ApiError(400, "invalid_request", "empty body");
    const multipart = c.env.CHECKPOINTS.resumeMultipartUpload(checkpoint.r2Key, upload.uploadId);
    let stored: { stored: R2UploadedPart; sha256: string };
    try {
      stored = await storeHashed(body, length, (sized) => multipart.uploadPart(n, sized));
    } catch (err) {
      if (!isNoSuchUpload(err)) throw err;
      // Only this upload's row: the checkpoint may already have a newer upload, which must live on.
      await db.delete(checkpointUploads).where(thisUpload(checkpointId, uploadId));
      throw new ApiError(409, "conflict", `R2 no longer has upload ${uploadId} of checkpoint ${checkpointId} (expired or aborted); start a new one`);
    }
    // Parts are keyed by checkpoint; each write below happens only while this upload is still the checkpoint's.
    const stillThisUpload = exists(db.select({ one: sql`1` }).from(checkpointUploads).where(thisUpload(checkpointId, uploadId)));
    const where = and(eq(checkpointUploadParts.checkpointId, checkpointId), eq(checkpointUploadParts.partNumber, n), stillThisUpload);
    if (stored.sha256 !== declared) {
      // R2 now holds these bytes as part n; a recorded earlier copy is gone with them, so forget it too.
      await db.delete(checkpointUploadParts).where(where);
      throw new ApiError(
        400,
        "checksum_mismatch",
        `part ${n} has sha256 ${stored.sha256} but X-Part-Sha256 says ${declared}; it was not recorded, send it again`,
      );
    }
    const part = { sha256: stored.sha256, sizeBytes: length, etag: stored.stored.etag, createdAt: new Date() };
    const recorded = await db.run(sql`
      INSERT INTO ${checkpointUploadParts} (checkpoint_id, part_number, sha256, size_bytes, etag, created_at)
      SELECT ${checkpointId}, ${n}, ${part.sha256}, ${part.sizeBytes}, ${part.etag}, ${part.createdAt.getTime()}
      FROM ${checkpointUploads} WHERE checkpoint_id = ${checkpointId} AND upload_id = ${uploadId}
      ON CONFLICT (checkpoint_id, part_number) DO UPDATE SET sha256 = excluded.sha256, size_bytes = excluded.size_bytes, etag = excluded.etag, created_at = excluded.created_at`);
    if (recorded.meta.changes === 0) {
      throw new ApiError(
        409,
        "conflict",
        `upload ${uploadId} of checkpoint ${checkpointId} was aborted or replaced while part ${n} arrived; the part was not recorded`,
      );
    }
    return c.json({ partNumber: n, sha256: stored.sha256, sizeBytes: length }, 200);
  })
  /**
   * Assembles the parts into the checkpoint's R2 object once every one is stored, then
   * reads it back and checks its size and sha256 against the published ones: a match
   * marks the checkpoint ready; a mismatch deletes the object and the upload (400).
   */
  .post("/:uploadId/complete", trainerOrAdmin, validate("param", uploadParam), async (c) => {
    const db = c.get("db");
    const { id: checkpointId, uploadId } = c.req.valid("param");
    const { checkpoint, upload } = await requireUpload(db, checkpointId, uploadId);
    const parts = await db
      .select()
      .from(checkpointUploadParts)
      .where(eq(checkpointUploadParts.checkpointId, checkpointId))
      .orderBy(asc(checkpointUploadParts.partNumber));
    const have = new Set(parts.map((p) => p.partNumber));
    const missing = Array.from({ length: upload.partCount }, (_, i) => i + 1).filter((n) => !have.has(n));
    if (missing.length > 0) {
      const shown = missing.length > 20 ? `${missing.slice(0, 20).join(", ")}, … (${missing.length} in all)` : missing.join(", ");
      throw new ApiError(409, "conflict", `checkpoint ${checkpointId}'s upload lacks part(s) ${shown} of ${upload.partCount}`);
    }
    const multipart = c.env.CHECKPOINTS.resumeMultipartUpload(checkpoint.r2Key, upload.uploadId);
    try {
      await multipart.complete(parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag })));
    } catch (err) {
      if (!isNoSuchUpload(err)) throw err;
      // An earlier try may have completed it and then failed (its answer lost, or the Worker
      // stopped while checking): the object is there, and is checked below like a fresh one.
      if (!(await c.env.CHECKPOINTS.head(checkpoint.r2Key))) {
        await db.delete(checkpointUploads).where(thisUpload(checkpointId, uploadId));
        throw new ApiError(409, "conflict", `R2 no longer has upload ${uploadId} of checkpoint ${checkpointId} (expired or aborted); start a new one`);
      }
    }
    // The whole archive, checked by the Worker itself: "ready" keeps meaning "R2 holds exactly the published sha256".
    const object = await c.env.CHECKPOINTS.get(checkpoint.r2Key);
    const actual = object ? await sha256OfStream(object.body) : "(missing)";
    if (!object || object.size !== checkpoint.sizeBytes || actual !== checkpoint.sha256) {
      await c.env.CHECKPOINTS.delete(checkpoint.r2Key);
      await db.delete(checkpointUploads).where(thisUpload(checkpointId, uploadId));
      throw new ApiError(
        400,
        "checksum_mismatch",
        `the assembled archive has ${object?.size ?? 0} bytes and sha256 ${actual}; checkpoint ${checkpointId} declared ${checkpoint.sizeBytes} bytes and ${checkpoint.sha256}. The upload was dropped; start a new one`,
      );
    }
    await runBatch(db, [
      db.delete(checkpointUploads).where(thisUpload(checkpointId, uploadId)),
      db.update(checkpoints).set({ status: "ready" }).where(eq(checkpoints.id, checkpointId)),
    ]);
    return c.json(publicView(await requireCheckpoint(db, checkpointId)), 200);
  })
  /** Gives up an upload: R2 drops its parts and the next POST …/uploads starts afresh. */
  .delete("/:uploadId", trainerOrAdmin, validate("param", uploadParam), async (c) => {
    const db = c.get("db");
    const { id: checkpointId, uploadId } = c.req.valid("param");
    const { checkpoint, upload } = await requireUpload(db, checkpointId, uploadId);
    await dropUpload(c.env, db, checkpoint, upload);
    return c.json({ aborted: true }, 200);
  });
