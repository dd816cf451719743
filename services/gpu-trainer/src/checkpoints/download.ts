import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, existsSync, renameSync, rmSync, statSync } from "node:fs";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { createApiClient } from "@ranklab/api/client";
import { stallSignal, StalledError } from "../util/deadline.ts";

/** A download that receives no byte for this long is cut and resumed (Range) from what reached the disk. */
export const DOWNLOAD_STALL_MS = 60_000;
/** Tries of one download (each resuming where the last stopped) before it fails. */
const DOWNLOAD_TRIES = 3;

export interface DownloadReport {
  bytes: number;
  /** Bytes already on disk from a cut download, kept and not fetched again (a Range request). */
  resumedFrom: number;
}

/** The sha256 of what a cut download left on disk, read as a stream. */
async function hashFile(path: string, hash: ReturnType<typeof createHash>): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

/**
 * Downloads a ready checkpoint's archive to `dest`, streamed to disk while it is hashed,
 * so it is never held in memory. It lands in `<dest>.partial` first: a download cut
 * short (a crash, a dropped connection) is resumed from there with a Range request the
 * next time. The file is renamed to `dest` only once its sha256 is the published one;
 * otherwise it is deleted and the call throws.
 */
export async function downloadCheckpointFile(
  apiUrl: string,
  token: string,
  checkpoint: { id: number; sha256: string },
  dest: string,
  stallMs = DOWNLOAD_STALL_MS,
): Promise<DownloadReport> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await downloadOnce(apiUrl, token, checkpoint, dest, stallMs);
    } catch (err) {
      // A stalled download keeps what reached the disk; the next try asks for the rest.
      if (!(err instanceof StalledError) || attempt >= DOWNLOAD_TRIES) throw err;
      console.warn(`trainer: ${err.message}; resuming (try ${attempt + 1} of ${DOWNLOAD_TRIES})`);
    }
  }
}

async function downloadOnce(apiUrl: string, token: string, checkpoint: { id: number; sha256: string }, dest: string, stallMs: number): Promise<DownloadReport> {
  const partial = `${dest}.partial`;
  const hash = createHash("sha256");
  const have = existsSync(partial) ? statSync(partial).size : 0;
  // No deadline on the whole (an archive may be large), but one on silence: the answer and every chunk must come within stallMs.
  const stall = stallSignal(stallMs, `downloading checkpoint ${checkpoint.id}`);
  const stalled = (err: unknown) => (stall.signal.aborted && stall.signal.reason instanceof StalledError ? stall.signal.reason : err);
  try {
    // The typed client's GET, with a Range header when resuming.
    const res = await createApiClient(apiUrl, token)
      .v1.checkpoints[":id"].file.$get(
        { param: { id: String(checkpoint.id) } },
        { headers: have > 0 ? { range: `bytes=${have}-` } : {}, init: { signal: stall.signal } },
      )
      .catch((err: unknown) => {
        throw stalled(err);
      });
    return await receive(res, { checkpoint, dest, partial, hash, have, stall }).catch((err: unknown) => {
      throw stalled(err);
    });
  } finally {
    stall.stop();
  }
}

/** What `receive` reads of the typed client's answer. */
interface FileAnswer {
  ok: boolean;
  status: number;
  body: ReadableStream<Uint8Array> | null;
  text(): Promise<string>;
}

async function receive(
  res: FileAnswer,
  {
    checkpoint,
    dest,
    partial,
    hash,
    have,
    stall,
  }: {
    checkpoint: { id: number; sha256: string };
    dest: string;
    partial: string;
    hash: ReturnType<typeof createHash>;
    have: number;
    stall: ReturnType<typeof stallSignal>;
  },
): Promise<DownloadReport> {
  if (res.status === 416) {
    // The cut file is as long as the archive, or longer: start again.
    await res.body?.cancel();
    rmSync(partial, { force: true });
    throw new StalledError(`checkpoint ${checkpoint.id}: the cut download on disk is longer than the archive; starting again`);
  }
  if (!res.ok || !res.body) throw new Error(`checkpoint ${checkpoint.id} file: ${res.status} ${await res.text()}`);
  // 206: the API sent the rest; 200: it sent everything (the bytes on disk are replaced).
  const resumedFrom = res.status === 206 ? have : 0;
  if (resumedFrom > 0) await hashFile(partial, hash);
  let bytes = resumedFrom;
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      stall.touch();
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), hashing, createWriteStream(partial, { flags: resumedFrom > 0 ? "a" : "w" }));
  const actual = hash.digest("hex");
  if (actual !== checkpoint.sha256) {
    rmSync(partial, { force: true });
    throw new Error(`checkpoint ${checkpoint.id}: downloaded file has sha256 ${actual}, published ${checkpoint.sha256}; refused`);
  }
  renameSync(partial, dest);
  return { bytes, resumedFrom };
}
