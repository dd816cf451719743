/**
 * Full-size checkpoints on Cloudflare (issue 14, part 5): an archive larger than one part
 * goes through R2's multipart API under wrangler dev, resumes after a crash, and comes
 * back streamed to disk (resuming a cut download with a Range request). The Worker runs
 * with 5 MiB parts (R2's smallest) so a ~12 MiB archive spans three.
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiClient } from "@ranklab/api/client";
import { tarDir, tarDirToFile } from "@ranklab/gpu-trainer/io/tar";
import { trainerApi } from "@ranklab/gpu-trainer/ranklab-api";
import { fetchActiveCheckpoint } from "@ranklab/gpu-trainer/checkpoints/fetch";
import { downloadCheckpointFile } from "@ranklab/gpu-trainer/checkpoints/download";
import { publishCheckpoint } from "@ranklab/gpu-trainer/checkpoints/publish";
import { uploadCheckpointArchive } from "@ranklab/gpu-trainer/checkpoints/upload";
import { startApiDev, type ApiDev } from "../scripts/lib/api-dev.ts";
import { freePort } from "../scripts/lib/free-port.ts";
import { ProcessGroup } from "../scripts/lib/processes.ts";

const PART = 5 * 1024 * 1024;
const group = new ProcessGroup(() => {});
const home = mkdtempSync(join(tmpdir(), "ranklab-parts-"));
let api: ApiDev;

beforeAll(async () => {
  process.env.RANKLAB_HOME = home;
  api = await startApiDev({ port: await freePort(), group, vars: { CHECKPOINT_PART_BYTES: String(PART) } });
}, 180_000);

afterAll(async () => {
  await group.stop();
  rmSync(home, { recursive: true, force: true });
});

let made = 0;
/** A checkpoint folder of about 12 MiB: weights that differ per call, a config, a vocabulary. */
function checkpointFolder(): string {
  const dir = join(home, `ckpt-${++made}`);
  mkdirSync(dir, { recursive: true });
  const weights = Buffer.alloc(12 * 1024 * 1024 + 4321);
  let x = 0x2545f491 ^ made;
  for (let i = 0; i < weights.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    weights[i] = x >>> 24;
  }
  writeFileSync(join(dir, "model.safetensors"), weights);
  writeFileSync(join(dir, "config.json"), JSON.stringify({ n_layer: 12, n_embd: 768, made }));
  writeFileSync(join(dir, "vocab.txt"), "[PAD]\n[UNK]\n好\n");
  return dir;
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe("checkpoints larger than one part, under wrangler dev", () => {
  it("publishes a folder in three parts and the scorer's fetch unpacks the same files", async () => {
    const dir = checkpointFolder();
    const published = await publishCheckpoint(trainerApi(api.url, api.tokens.TRAINER_API_TOKEN), dir, { kind: "reward", activate: true });
    const trainer = createApiClient(api.url, api.tokens.TRAINER_API_TOKEN);
    const record = await (await trainer.v1.checkpoints[":id"].$get({ param: { id: String(published.id) } })).json();
    expect(record).toMatchObject({ status: "ready", active: true, sha256: published.sha256 });
    expect(record.sizeBytes).toBeGreaterThan(2 * PART);

    const fetched = await fetchActiveCheckpoint(trainerApi(api.url, api.tokens.BOT_API_TOKEN), "reward", join(home, "scorer"));
    expect(fetched?.ref).toEqual({ id: published.id, version: record.version, sha256: published.sha256 });
    expect(readdirSync(fetched!.dir).sort()).toEqual(["config.json", "model.safetensors", "vocab.txt"]);
    for (const name of readdirSync(dir)) expect(readFileSync(join(fetched!.dir, name)).equals(readFileSync(join(dir, name)))).toBe(true);
    // Neither the archive nor its partial download is left behind.
    expect(readdirSync(join(home, "scorer", "checkpoints")).filter((f) => f.endsWith(".tar") || f.endsWith(".partial"))).toEqual([]);
  });

  it("resumes an upload a crash cut short, sending only the parts the API lacks", async () => {
    const archive = join(home, "resume.tar");
    const size = tarDirToFile(checkpointFolder(), archive);
    const bytes = readFileSync(archive);
    const trainer = createApiClient(api.url, api.tokens.TRAINER_API_TOKEN);
    const record = await (await trainer.v1.checkpoints.$post({ json: { kind: "policy", sha256: sha256(bytes), sizeBytes: size } })).json();
    // The trainer that crashed: it started the upload and sent part 2 only.
    const started = await (await trainer.v1.checkpoints[":id"].uploads.$post({ param: { id: String(record.id) } })).json();
    expect(started).toMatchObject({ partSize: PART, partCount: 3, parts: [] });
    const part2 = bytes.subarray(PART, 2 * PART);
    const sent = await fetch(`${api.url}/v1/checkpoints/${record.id}/uploads/${encodeURIComponent(started.uploadId)}/parts/2`, {
      method: "PUT",
      headers: { authorization: `Bearer ${api.tokens.TRAINER_API_TOKEN}`, "content-length": String(part2.byteLength), "x-part-sha256": sha256(part2) },
      body: part2,
    });
    expect(sent.status).toBe(200);

    const lines: string[] = [];
    const report = await uploadCheckpointArchive(api.url, api.tokens.TRAINER_API_TOKEN, record.id, archive, { log: (l) => lines.push(l) });
    expect(report).toEqual({ partCount: 3, partSize: PART, partsSkipped: 1, bytesSent: size - PART });
    expect(lines.join("\n")).toContain("1 of 3 part(s) already stored");
    const ready = await (await trainer.v1.checkpoints[":id"].$get({ param: { id: String(record.id) } })).json();
    expect(ready.status).toBe("ready");
    // A trainer that crashed after completing asks again and has nothing to send.
    expect(await uploadCheckpointArchive(api.url, api.tokens.TRAINER_API_TOKEN, record.id, archive)).toEqual({
      partCount: 0,
      partSize: 0,
      partsSkipped: 0,
      bytesSent: 0,
    });

    // Downloading: a cut download resumes with a Range request; a damaged one is refused and deleted.
    const dest = join(home, "downloaded.tar");
    writeFileSync(`${dest}.partial`, bytes.subarray(0, 7 * 1024 * 1024));
    expect(await downloadCheckpointFile(api.url, api.tokens.BOT_API_TOKEN, record, dest)).toEqual({ bytes: size, resumedFrom: 7 * 1024 * 1024 });
    expect(readFileSync(dest).equals(bytes)).toBe(true);
    const damaged = Buffer.from(bytes.subarray(0, 3 * 1024 * 1024));
    damaged[100] = damaged[100]! ^ 0xff;
    writeFileSync(`${dest}.partial`, damaged);
    await expect(downloadCheckpointFile(api.url, api.tokens.BOT_API_TOKEN, record, dest)).rejects.toThrow(/sha256 .* published .*; refused/);
    expect(readdirSync(home).includes("downloaded.tar.partial")).toBe(false);
    expect(await downloadCheckpointFile(api.url, api.tokens.BOT_API_TOKEN, record, dest)).toEqual({ bytes: size, resumedFrom: 0 });
  });

  it("goes through the trainer's API client too: bytes in memory up in parts, back streamed to disk", async () => {
    const client = trainerApi(api.url, api.tokens.TRAINER_API_TOKEN);
    const bytes = tarDir(checkpointFolder());
    const record = await client.recordCheckpoint({ kind: "policy", sha256: sha256(bytes), sizeBytes: bytes.byteLength, metrics: {}, config: {} });
    expect(await client.uploadCheckpoint(record.id, bytes)).toEqual({ partCount: 3, partSize: PART, partsSkipped: 0, bytesSent: bytes.byteLength });
    const dest = join(home, "client.tar");
    expect(await client.downloadCheckpointTo(record, dest)).toEqual({ bytes: bytes.byteLength, resumedFrom: 0 });
    expect(readFileSync(dest).equals(bytes)).toBe(true);
  });

  it("sends a part again when it arrives damaged", async () => {
    // A proxy in front of the API that flips one byte of the first part it carries.
    let damaged = 0;
    const proxy = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      if (req.url?.includes("/parts/") && damaged++ === 0) body[1000] = body[1000]! ^ 0x01;
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !["host", "connection", "transfer-encoding"].includes(k))) as Record<
        string,
        string
      >;
      const answer = await fetch(`${api.url}${req.url}`, { method: req.method!, headers, ...(body.length > 0 ? { body } : {}) });
      res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "application/octet-stream" });
      res.end(Buffer.from(await answer.arrayBuffer()));
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    try {
      const via = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const bytes = tarDir(checkpointFolder());
      const record = await trainerApi(via, api.tokens.TRAINER_API_TOKEN).recordCheckpoint({
        kind: "reward",
        sha256: sha256(bytes),
        sizeBytes: bytes.byteLength,
        metrics: {},
        config: {},
      });
      const lines: string[] = [];
      const report = await uploadCheckpointArchive(via, api.tokens.TRAINER_API_TOKEN, record.id, bytes, { retryDelayMs: 10, log: (l) => lines.push(l) });
      expect(report.bytesSent).toBe(bytes.byteLength);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/uploading part 1 of 3 .*: 400 .*checksum_mismatch.*\(try 1 of 4\)/);
      const dest = join(home, "after-damage.tar");
      await downloadCheckpointFile(api.url, api.tokens.BOT_API_TOKEN, record, dest);
      expect(readFileSync(dest).equals(bytes)).toBe(true);
    } finally {
      proxy.close();
    }
  });

  it("refuses the archive in one PUT: it is larger than one part", async () => {
    const archive = join(home, "single.tar");
    const size = tarDirToFile(checkpointFolder(), archive);
    const bytes = readFileSync(archive);
    const trainer = createApiClient(api.url, api.tokens.TRAINER_API_TOKEN);
    const record = await (await trainer.v1.checkpoints.$post({ json: { kind: "policy", sha256: sha256(bytes), sizeBytes: size } })).json();
    const res = await fetch(`${api.url}/v1/checkpoints/${record.id}/file`, {
      method: "PUT",
      headers: { authorization: `Bearer ${api.tokens.TRAINER_API_TOKEN}`, "content-length": String(size) },
      body: bytes,
    });
    expect(res.status).toBe(413);
    expect(await res.text()).toContain(`/v1/checkpoints/${record.id}/uploads`);
  });
});
