import { createHash } from "node:crypto";
import { existsSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { untarTo } from "../io/tar.ts";
import type { CheckpointKind, TrainerApi } from "../ranklab-api.ts";

/** What identifies a published checkpoint: the scorer reports it with every score. */
export interface CheckpointRef {
  id: number;
  version: number;
  sha256: string;
}

export interface LocalCheckpoint {
  ref: CheckpointRef;
  dir: string;
  /** The metrics the checkpoint was published with (e.g. a policy's objective/kl_coef, a reward model's held-out accuracy). */
  metrics: Record<string, unknown>;
}

/**
 * A published checkpoint, downloaded into `<home>/checkpoints` when it is not there yet.
 * A file whose sha256 differs from the one published is refused (nothing is unpacked).
 */
export async function fetchCheckpoint(api: TrainerApi, checkpoint: CheckpointRef & { kind: CheckpointKind; metrics?: unknown }, home: string): Promise<LocalCheckpoint> {
  const ref = { id: checkpoint.id, version: checkpoint.version, sha256: checkpoint.sha256 };
  const metrics = (checkpoint.metrics && typeof checkpoint.metrics === "object" ? checkpoint.metrics : {}) as Record<string, unknown>;
  const dir = join(home, "checkpoints", `${checkpoint.kind}-v${checkpoint.version}-${checkpoint.sha256.slice(0, 12)}`);
  if (existsSync(join(dir, "config.json"))) return { ref, dir, metrics };
  const bytes = await api.downloadCheckpoint(checkpoint.id);
  const actual = createHash("sha256").update(bytes).digest("hex");
  if (actual !== checkpoint.sha256) throw new Error(`checkpoint ${checkpoint.id}: downloaded file has sha256 ${actual}, published ${checkpoint.sha256}; refused`);
  // Unpack beside, then rename: a crash never leaves a half-written checkpoint folder.
  const tmp = `${dir}.partial-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  untarTo(bytes, tmp, `checkpoint ${checkpoint.id}`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { ref, dir, metrics };
}

/** The active checkpoint of `kind`, local; undefined when none is active. */
export async function fetchActiveCheckpoint(api: TrainerApi, kind: CheckpointKind, home: string): Promise<LocalCheckpoint | undefined> {
  const active = await api.activeCheckpoint(kind);
  return active ? fetchCheckpoint(api, active, home) : undefined;
}
