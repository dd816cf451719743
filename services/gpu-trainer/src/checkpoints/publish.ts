import { createHash } from "node:crypto";
import { tarDir } from "../io/tar.ts";
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

/**
 * Publishes a checkpoint folder through the API: the record (sha256, size, metrics,
 * config, the run), then the archive (the API checks its length and sha256 while storing
 * it in R2), then, if asked, activation. Publishing the same archive again returns the
 * first record.
 */
export async function publishCheckpoint(api: TrainerApi, dir: string, options: PublishOptions): Promise<Published> {
  if (options.activate && options.rejectedReason) throw new Error("a checkpoint is either activated or rejected, not both");
  const archive = tarDir(dir);
  const sha256 = createHash("sha256").update(archive).digest("hex");
  const record = await api.recordCheckpoint({
    kind: options.kind,
    sha256,
    sizeBytes: archive.length,
    metrics: options.metrics ?? {},
    config: options.config ?? {},
    trainingRunId: options.trainingRunId,
    rejectedReason: options.rejectedReason,
  });
  if (record.status !== "ready") await api.uploadCheckpoint(record.id, archive);
  if (options.activate) await api.activateCheckpoint(record.id);
  return { id: record.id, version: record.version, sha256, activated: options.activate === true };
}
