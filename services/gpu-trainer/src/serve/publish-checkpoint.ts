import { createHash } from "node:crypto";
import { tarDir } from "../io/tar.ts";

export interface Published {
  id: number;
  version: number;
  sha256: string;
}

/**
 * Publishes a checkpoint folder through the API: the record (sha256, size, metrics),
 * then the archive (the API checks its length and sha256 while storing it in R2), then,
 * if asked, activation. Publishing the same archive again returns the first record.
 */
export async function publishCheckpoint(
  apiUrl: string,
  trainerToken: string,
  dir: string,
  options: { kind: "policy" | "reward"; metrics?: Record<string, number>; config?: Record<string, unknown>; activate?: boolean; trainingRunId?: number },
): Promise<Published> {
  const archive = tarDir(dir);
  const sha256 = createHash("sha256").update(archive).digest("hex");
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
      body: JSON.stringify({ kind: options.kind, sha256, sizeBytes: archive.length, metrics: options.metrics ?? {}, config: options.config ?? {}, ...(options.trainingRunId ? { trainingRunId: options.trainingRunId } : {}) }),
    }),
  );
  if (record.status !== "ready") {
    await call("uploading the checkpoint file", fetch(`${apiUrl}/v1/checkpoints/${record.id}/file`, { method: "PUT", headers: { ...headers, "content-type": "application/x-tar", "content-length": String(archive.length) }, body: archive }));
  }
  if (options.activate) await call("activating the checkpoint", fetch(`${apiUrl}/v1/checkpoints/${record.id}/activate`, { method: "POST", headers }));
  return { id: record.id, version: record.version, sha256 };
}
