import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { untarFile } from "../io/tar.ts";
import { downloadCheckpointFile } from "./download-checkpoint.ts";
import type { CheckpointRef } from "./hot-swap-scorer.ts";

const CheckpointSchema = z.object({ id: z.number(), version: z.number(), sha256: z.string(), kind: z.enum(["policy", "reward"]) }).passthrough();

/**
 * The active checkpoint of `kind` from the API, downloaded into `<home>/checkpoints`
 * when it is not there yet. The archive is streamed to disk and unpacked from there
 * (never held in memory, so a scorer swapping in a large model holds one copy: the
 * model's); a file whose sha256 differs from the one published is refused and nothing
 * is unpacked. Undefined when no checkpoint is active.
 */
export async function fetchActiveCheckpoint(apiUrl: string, token: string, kind: "policy" | "reward", home: string): Promise<{ ref: CheckpointRef; dir: string } | undefined> {
  const headers = { authorization: `Bearer ${token}` };
  const res = await fetch(`${apiUrl}/v1/checkpoints/active/${kind}`, { headers });
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`active ${kind} checkpoint: ${res.status} ${await res.text()}`);
  const checkpoint = CheckpointSchema.parse(await res.json());
  const ref = { id: checkpoint.id, version: checkpoint.version, sha256: checkpoint.sha256 };
  const dir = join(home, "checkpoints", `${kind}-v${checkpoint.version}-${checkpoint.sha256.slice(0, 12)}`);
  if (existsSync(join(dir, "config.json"))) return { ref, dir };
  mkdirSync(join(home, "checkpoints"), { recursive: true });
  // Named by the sha256, so a download cut short resumes into the same file next time.
  const archive = join(home, "checkpoints", `${checkpoint.sha256}.tar`);
  await downloadCheckpointFile(apiUrl, token, checkpoint, archive);
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
  return { ref, dir };
}
