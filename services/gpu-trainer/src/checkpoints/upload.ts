import { createHash } from "node:crypto";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { createApiClient } from "@ranklab/api/client";
import { fetchWithin, isTimeout } from "../util/deadline.ts";

/** Deadlines: a start, a completion (the API reads the whole archive back) and one part (at most 95 MB) must each be answered within these. */
const CALL_TIMEOUT_MS = 120_000;
const PART_TIMEOUT_MS = 300_000;

/** Where an archive's bytes come from: a file on disk (read a part at a time) or bytes already in memory. */
export type ArchiveSource = string | Uint8Array;

export interface UploadOptions {
  /** Tries per part (and for starting and completing) before giving up; network errors and 5xx answers are retried. */
  attempts?: number;
  /** Wait before the second try; doubled for each further one. */
  retryDelayMs?: number;
  log?: (line: string) => void;
}

/** What an upload did; all zero when the checkpoint already had its file. */
export interface UploadReport {
  partCount: number;
  partSize: number;
  /** Parts the API already held (a resumed upload) and that matched the archive, so were not sent again. */
  partsSkipped: number;
  bytesSent: number;
}

/** The API refused a step of the upload (4xx), or kept failing (5xx, network) past the retries. */
export class CheckpointUploadError extends Error {
  override name = "CheckpointUploadError";
  constructor(
    what: string,
    readonly status: number | undefined,
    detail: string,
  ) {
    super(`${what}: ${status ?? "network error"} ${detail}`);
  }
}

/** Reads byte ranges of the archive; a file is opened once and read at offsets, never loaded whole. */
function openSource(source: ArchiveSource): { size: number; read(offset: number, length: number): Uint8Array; close(): void } {
  if (typeof source !== "string") return { size: source.byteLength, read: (offset, length) => source.subarray(offset, offset + length), close: () => {} };
  const fd = openSync(source, "r");
  return {
    size: fstatSync(fd).size,
    read(offset, length) {
      const out = new Uint8Array(length);
      for (let done = 0; done < length; ) {
        const n = readSync(fd, out, done, length - done, offset + done);
        if (n === 0) throw new Error(`${source} ended at byte ${offset + done}, before the ${length}-byte part at ${offset}`);
        done += n;
      }
      return out;
    },
    close: () => closeSync(fd),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Uploads a checkpoint's archive in parts through the API (POST /v1/checkpoints/:id/uploads
 * and the routes under it; see services/api/src/routes/checkpoint-uploads.ts), each part
 * well under Cloudflare's 100 MB request limit. Resumable: the API keeps the upload's
 * state, so after a crash the same call sends only the parts it does not hold yet (each
 * held part is checked against the archive's own bytes first). The API checks every
 * part's sha256 and, at the end, the whole archive's against the published one.
 * @example
 *   const record = await trainerApi(url, token).recordCheckpoint({ kind: "policy", sha256, sizeBytes, metrics, config });
 *   await uploadCheckpointArchive(url, token, record.id, "/runs/7/policy.tar");
 */
export async function uploadCheckpointArchive(
  apiUrl: string,
  token: string,
  checkpointId: number,
  source: ArchiveSource,
  options: UploadOptions = {},
): Promise<UploadReport> {
  const attempts = options.attempts ?? 4;
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const log = options.log ?? (() => {});
  const api = createApiClient(apiUrl, token, fetchWithin(CALL_TIMEOUT_MS));
  const id = String(checkpointId);

  /**
   * Runs `request` until it answers 2xx, retrying network errors and 5xx; a 4xx throws at
   * once, except a part's checksum_mismatch (`damagedIsRetryable`): bytes damaged on the way.
   */
  async function withRetries<R extends { ok: boolean; status: number; text(): Promise<string> }>(
    what: string,
    request: () => Promise<R>,
    damagedIsRetryable = false,
  ): Promise<R> {
    let last: CheckpointUploadError | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) await sleep(retryDelayMs * 2 ** (attempt - 2));
      let res: R;
      try {
        res = await request();
      } catch (err) {
        last = new CheckpointUploadError(what, undefined, isTimeout(err) ? "no answer before the deadline" : err instanceof Error ? err.message : String(err));
        log(`trainer: ${last.message} (try ${attempt} of ${attempts})`);
        continue;
      }
      if (res.ok) return res;
      last = new CheckpointUploadError(what, res.status, await res.text());
      if (res.status < 500 && !(damagedIsRetryable && res.status === 400 && last.message.includes("checksum_mismatch"))) throw last;
      log(`trainer: ${last.message} (try ${attempt} of ${attempts})`);
    }
    throw last!;
  }

  /** After a refusal that an earlier, finished upload explains (a lost answer, a crash after completing). */
  const alreadyReady = async () => {
    const res = await api.v1.checkpoints[":id"].$get({ param: { id } });
    return res.ok && (await res.json()).status === "ready";
  };

  const startUpload = () => withRetries(`starting the upload of checkpoint ${id}`, () => api.v1.checkpoints[":id"].uploads.$post({ param: { id } }));
  const archive = openSource(source);
  try {
    // 1. Start, or resume: the API answers the parts it already holds.
    let started: Awaited<ReturnType<typeof startUpload>>;
    try {
      started = await startUpload();
    } catch (err) {
      if (err instanceof CheckpointUploadError && err.status === 409 && (await alreadyReady()))
        return { partCount: 0, partSize: 0, partsSkipped: 0, bytesSent: 0 };
      throw err;
    }
    const upload = await started.json();
    if (upload.sizeBytes !== archive.size) {
      throw new CheckpointUploadError(
        `uploading checkpoint ${id}`,
        undefined,
        `the archive has ${archive.size} bytes but the checkpoint was published with ${upload.sizeBytes}`,
      );
    }
    const held = new Map(upload.parts.map((p) => [p.partNumber, p.sha256]));
    if (held.size > 0) log(`trainer: resuming the upload of checkpoint ${id}: ${held.size} of ${upload.partCount} part(s) already stored`);

    // 2. Every part the API lacks (or holds with other bytes), one at a time: one part in memory.
    const report: UploadReport = { partCount: upload.partCount, partSize: upload.partSize, partsSkipped: 0, bytesSent: 0 };
    for (let n = 1; n <= upload.partCount; n++) {
      const offset = (n - 1) * upload.partSize;
      const bytes = archive.read(offset, Math.min(upload.partSize, archive.size - offset));
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      if (held.get(n) === sha256) {
        report.partsSkipped++;
        continue;
      }
      // A raw request: the typed client does not describe binary bodies.
      await withRetries(
        `uploading part ${n} of ${upload.partCount} of checkpoint ${id}`,
        () =>
          fetch(`${apiUrl}/v1/checkpoints/${id}/uploads/${encodeURIComponent(upload.uploadId)}/parts/${n}`, {
            method: "PUT",
            headers: {
              authorization: `Bearer ${token}`,
              "content-type": "application/octet-stream",
              "content-length": String(bytes.byteLength),
              "x-part-sha256": sha256,
            },
            body: bytes,
            signal: AbortSignal.timeout(PART_TIMEOUT_MS),
          }),
        true,
      );
      report.bytesSent += bytes.byteLength;
    }

    // 3. The API assembles the parts and checks the whole archive's sha256.
    try {
      await withRetries(`completing the upload of checkpoint ${id}`, () =>
        api.v1.checkpoints[":id"].uploads[":uploadId"].complete.$post({ param: { id, uploadId: upload.uploadId } }),
      );
    } catch (err) {
      // A retry after a try that completed (and answered 5xx or nothing) finds the upload gone.
      if (!(err instanceof CheckpointUploadError && err.status === 404 && (await alreadyReady()))) throw err;
    }
    return report;
  } finally {
    archive.close();
  }
}
