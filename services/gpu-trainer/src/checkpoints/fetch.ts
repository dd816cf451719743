import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { untarFile } from "../io/tar.ts";
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
 * The archive streams to disk (resuming a cut download with Range) and is unpacked from
 * there, so a several-hundred-MB model is never held twice in memory; a file whose
 * sha256 differs from the one published is refused and nothing is unpacked.
 */
export async function fetchCheckpoint(
  api: TrainerApi,
  checkpoint: CheckpointRef & { kind: CheckpointKind; metrics?: unknown },
  home: string,
): Promise<LocalCheckpoint> {
  const ref = { id: checkpoint.id, version: checkpoint.version, sha256: checkpoint.sha256 };
  const metrics = (checkpoint.metrics && typeof checkpoint.metrics === "object" ? checkpoint.metrics : {}) as Record<string, unknown>;
  const dir = join(home, "checkpoints", `${checkpoint.kind}-v${checkpoint.version}-${checkpoint.sha256.slice(0, 12)}`);
  if (existsSync(join(dir, "config.json"))) return { ref, dir, metrics };
  mkdirSync(join(home, "checkpoints"), { recursive: true });
  // Named by the sha256, so a download cut short resumes into the same file next time.
  const archive = join(home, "checkpoints", `${checkpoint.sha256}.tar`);
  await api.downloadCheckpointTo(checkpoint, archive);
  // Unpack beside, then rename: a crash never leaves a half-written checkpoint folder.
  const tmp = `${dir}.partial-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    untarFile(archive, tmp, `checkpoint ${checkpoint.id}`);
  } finally {
    rmSync(archive, { force: true });
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { ref, dir, metrics };
}

/** The active checkpoint of `kind`, local; undefined when none is active. */
export async function fetchActiveCheckpoint(api: TrainerApi, kind: CheckpointKind, home: string): Promise<LocalCheckpoint | undefined> {
  const active = await api.activeCheckpoint(kind);
  return active ? fetchCheckpoint(api, active, home) : undefined;
}
