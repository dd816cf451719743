import { createHash } from "node:crypto";
import { createReadStream, rmSync } from "node:fs";
import { tarDirToFile } from "../io/tar.ts";
import { uploadCheckpointArchive, type UploadOptions } from "./upload-checkpoint.ts";

export interface Published {
  id: number;
  version: number;
  sha256: string;
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * Publishes a checkpoint folder through the API: the record (sha256, size, metrics),
 * then the archive in parts (uploadCheckpointArchive: each part and the whole are checked
 * by the API), then, if asked, activation. The archive is written next to the folder
 * (`<dir>.publish.tar`) and read from disk a part at a time, never held whole. Publishing
 * the same folder again returns the first record, and an upload cut short by a crash
 * resumes: the archive is byte-for-byte the same, so it is the same checkpoint.
 */
export async function publishCheckpoint(
  apiUrl: string,
  trainerToken: string,
  dir: string,
  options: { kind: "policy" | "reward"; metrics?: Record<string, number>; config?: Record<string, unknown>; activate?: boolean; trainingRunId?: number; upload?: UploadOptions },
): Promise<Published> {
  const archive = `${dir.replace(/\/+$/, "")}.publish.tar`;
  try {
    const sizeBytes = tarDirToFile(dir, archive);
    const sha256 = await sha256OfFile(archive);
    const headers = { authorization: `Bearer ${trainerToken}` };
    const call = async (what: string, res: Promise<Response>) => {
      const r = await res;
      if (!r.ok) throw new Error(`${what}: ${r.status} ${await r.text()}`);
      return r.json() as Promise<Published & { status: string }>;
    };
    const record = await call(
      "publishing the checkpoint",
      fetch(`${apiUrl}/v1/checkpoints`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify({ kind: options.kind, sha256, sizeBytes, metrics: options.metrics ?? {}, config: options.config ?? {}, ...(options.trainingRunId ? { trainingRunId: options.trainingRunId } : {}) }),
      }),
    );
    if (record.status !== "ready") await uploadCheckpointArchive(apiUrl, trainerToken, record.id, archive, options.upload);
    if (options.activate) await call("activating the checkpoint", fetch(`${apiUrl}/v1/checkpoints/${record.id}/activate`, { method: "POST", headers }));
    return { id: record.id, version: record.version, sha256 };
  } finally {
    rmSync(archive, { force: true });
  }
}
