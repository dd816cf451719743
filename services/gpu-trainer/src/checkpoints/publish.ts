import { createHash } from "node:crypto";
import { createReadStream, rmSync } from "node:fs";
import { tarDirToFile } from "../io/tar.ts";
import type { CheckpointKind, TrainerApi } from "../ranklab-api.ts";

export interface Published {
  id: number;
  version: number;
  sha256: string;
  activated: boolean;
}

export interface PublishOptions {
  kind: CheckpointKind;
  metrics?: Record<string, number>;
  /** What made it: the run's config, the reward input, the reference, the step; stored in D1 beside the archive. */
  config?: Record<string, unknown>;
  trainingRunId?: number;
  /** Activate it once stored (a gated candidate that passed). */
  activate?: boolean;
  /** Publish it as rejected, with the gate's reason: kept for inspection, never activated. */
  rejectedReason?: string;
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * Publishes a checkpoint folder through the API: the record (sha256, size, metrics,
 * config, the run, a gate's rejection), then the archive in parts (checkpoints/upload.ts:
 * each part and the whole are checked by the API), then, if asked, activation. The
 * archive is written next to the folder (`<dir>.publish.tar`) and read from disk a part
 * at a time, never held whole. Publishing the same folder again returns the first
 * record, and an upload cut short by a crash resumes.
 */
export async function publishCheckpoint(api: TrainerApi, dir: string, options: PublishOptions): Promise<Published> {
  if (options.activate && options.rejectedReason) throw new Error("a checkpoint is either activated or rejected, not both");
  const archive = `${dir.replace(/\/+$/, "")}.publish.tar`;
  try {
    const sizeBytes = tarDirToFile(dir, archive);
    const sha256 = await sha256OfFile(archive);
    const record = await api.recordCheckpoint({
      kind: options.kind,
      sha256,
      sizeBytes,
      metrics: options.metrics ?? {},
      config: options.config ?? {},
      trainingRunId: options.trainingRunId,
      rejectedReason: options.rejectedReason,
    });
    if (record.status !== "ready") await api.uploadCheckpoint(record.id, archive);
    if (options.activate) await api.activateCheckpoint(record.id);
    return { id: record.id, version: record.version, sha256, activated: options.activate === true };
  } finally {
    rmSync(archive, { force: true });
  }
}
