import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, callJson, expectError } from "../../test/helpers.ts";

// vitest.config.ts sets CHECKPOINT_PART_BYTES to R2's smallest part, 5 MiB.
const PART = 5 * 1024 * 1024;

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

let seed = 0;
/** An archive of `size` bytes that no other test uses. */
function archive(size = 2 * PART + 123_457): Uint8Array {
  seed++;
  const bytes = new Uint8Array(size);
  let x = 0x9e3779b9 ^ seed;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

const partOf = (bytes: Uint8Array, n: number) => bytes.subarray((n - 1) * PART, Math.min(n * PART, bytes.byteLength));

async function publish(bytes: Uint8Array, sha256?: string) {
  return callJson("POST", "/v1/checkpoints", 201, {
    as: "trainer",
    json: { kind: "policy", sha256: sha256 ?? (await sha256Hex(bytes)), sizeBytes: bytes.byteLength },
  });
}

const start = (id: number, status = 201) => callJson("POST", `/v1/checkpoints/${id}/uploads`, status, { as: "trainer" });

function putPart(id: number, uploadId: string, n: number, body: Uint8Array, sha256: string, headers: Record<string, string> = {}) {
  return call("PUT", `/v1/checkpoints/${id}/uploads/${encodeURIComponent(uploadId)}/parts/${n}`, {
    as: "trainer",
    body,
    headers: { "content-length": String(body.byteLength), "x-part-sha256": sha256, ...headers },
  });
}

async function sendPart(id: number, uploadId: string, bytes: Uint8Array, n: number) {
  const part = partOf(bytes, n);
  const res = await putPart(id, uploadId, n, part, await sha256Hex(part));
  expect(`${res.status} ${await res.text()}`).toMatch(/^200 /);
}

const complete = (id: number, uploadId: string) => call("POST", `/v1/checkpoints/${id}/uploads/${encodeURIComponent(uploadId)}/complete`, { as: "trainer" });

async function recordedParts(id: number): Promise<number[]> {
  const { results } = await env.DB.prepare("SELECT part_number AS n FROM checkpoint_upload_parts WHERE checkpoint_id = ? ORDER BY part_number")
    .bind(id)
    .all<{ n: number }>();
  return results.map((r) => r.n);
}

describe("checkpoint uploads in parts", () => {
  it("stores an archive of three parts sent out of order, and serves it whole and by range", async () => {
    const bytes = archive();
    const meta = await publish(bytes);
    const upload = await start(meta.id);
    expect(upload).toMatchObject({ checkpointId: meta.id, partSize: PART, partCount: 3, sizeBytes: bytes.byteLength, parts: [] });
    for (const n of [3, 1, 2]) await sendPart(meta.id, upload.uploadId, bytes, n);
    const ready = await callJson("POST", `/v1/checkpoints/${meta.id}/uploads/${encodeURIComponent(upload.uploadId)}/complete`, 200, { as: "trainer" });
    expect(ready).toMatchObject({ id: meta.id, status: "ready", fileUrl: `/v1/checkpoints/${meta.id}/file` });
    // The upload's state is gone once the file is whole.
    expect(await env.DB.prepare("SELECT count(*) AS n FROM checkpoint_uploads WHERE checkpoint_id = ?").bind(meta.id).first("n")).toBe(0);

    const whole = await call("GET", `/v1/checkpoints/${meta.id}/file`, { as: "bot" });
    expect(whole.status).toBe(200);
    expect(whole.headers.get("accept-ranges")).toBe("bytes");
    expect(await sha256Hex(new Uint8Array(await whole.arrayBuffer()))).toBe(meta.sha256);

    // A slice across the boundary of parts 1 and 2, an open end, and a suffix.
    const size = bytes.byteLength;
    for (const [header, from, to] of [
      [`bytes=${PART - 10}-${PART + 9}`, PART - 10, PART + 10],
      [`bytes=${size - 100}-`, size - 100, size],
      ["bytes=-7", size - 7, size],
    ] as const) {
      const res = await call("GET", `/v1/checkpoints/${meta.id}/file`, { as: "bot", headers: { range: header } });
      expect(res.status).toBe(206);
      expect(res.headers.get("content-range")).toBe(`bytes ${from}-${to - 1}/${size}`);
      expect(res.headers.get("content-length")).toBe(String(to - from));
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes.slice(from, to));
    }
    const past = await call("GET", `/v1/checkpoints/${meta.id}/file`, { as: "bot", headers: { range: `bytes=${size}-` } });
    expect(past.status).toBe(416);
    expect(past.headers.get("content-range")).toBe(`bytes */${size}`);
  });

  it("resumes after a crash: starting again answers the same upload with the parts already stored", async () => {
    const bytes = archive();
    const meta = await publish(bytes);
    const first = await start(meta.id);
    await sendPart(meta.id, first.uploadId, bytes, 1);
    // The trainer dies here; its next try asks again.
    const resumed = await start(meta.id, 200);
    expect(resumed.uploadId).toBe(first.uploadId);
    expect(resumed.parts).toEqual([{ partNumber: 1, sha256: await sha256Hex(partOf(bytes, 1)), sizeBytes: PART }]);
    await sendPart(meta.id, resumed.uploadId, bytes, 2);
    await sendPart(meta.id, resumed.uploadId, bytes, 3);
    expect((await complete(meta.id, resumed.uploadId)).status).toBe(200);
    const stored = await env.CHECKPOINTS.get(meta.r2Key);
    expect(await sha256Hex(new Uint8Array(await stored!.arrayBuffer()))).toBe(meta.sha256);
    // Ready now: nothing left to upload.
    await expectError(await call("POST", `/v1/checkpoints/${meta.id}/uploads`, { as: "trainer" }), 409, "conflict");
  });

  it("refuses a part whose bytes do not match its X-Part-Sha256, recording nothing", async () => {
    const bytes = archive();
    const meta = await publish(bytes);
    const { uploadId } = await start(meta.id);
    const part = partOf(bytes, 2);
    const tampered = part.slice();
    tampered[4096] = (tampered[4096]! + 1) % 256;
    const error = await expectError(await putPart(meta.id, uploadId, 2, tampered, await sha256Hex(part)), 400, "checksum_mismatch");
    expect(error.message).toContain("part 2");
    expect(await recordedParts(meta.id)).toEqual([]);

    // A good copy is recorded; a bad copy sent over it replaces R2's bytes, so the record goes too.
    await sendPart(meta.id, uploadId, bytes, 2);
    expect(await recordedParts(meta.id)).toEqual([2]);
    await expectError(await putPart(meta.id, uploadId, 2, tampered, await sha256Hex(part)), 400, "checksum_mismatch");
    expect(await recordedParts(meta.id)).toEqual([]);
    expect((await start(meta.id, 200)).parts).toEqual([]);
    expect(await env.CHECKPOINTS.head(meta.r2Key)).toBeNull();
  });

  it("refuses parts of the wrong size or number, and completing before every part is there", async () => {
    const bytes = archive();
    const meta = await publish(bytes);
    const { uploadId } = await start(meta.id);
    const one = partOf(bytes, 1);
    const sha = await sha256Hex(one);
    // A first part shorter than the part size, and the last part sent as a full one.
    const short = one.subarray(0, PART - 1);
    expect((await expectError(await putPart(meta.id, uploadId, 1, short, await sha256Hex(short)), 400, "invalid_request")).message).toContain(
      `must have ${PART}`,
    );
    await expectError(await putPart(meta.id, uploadId, 3, one, sha), 400, "invalid_request");
    for (const n of [0, 4]) await expectError(await putPart(meta.id, uploadId, n, one, sha), 400, "invalid_request");
    await expectError(await putPart(meta.id, uploadId, 1, one, "A".repeat(64)), 400, "invalid_request");
    const noHeader = await call("PUT", `/v1/checkpoints/${meta.id}/uploads/${encodeURIComponent(uploadId)}/parts/1`, {
      as: "trainer",
      body: one,
      headers: { "content-length": String(one.byteLength) },
    });
    await expectError(noHeader, 400, "invalid_request");
    await expectError(await putPart(meta.id, "not-an-upload", 1, one, sha), 404, "not_found");
    const noToken = await call("PUT", `/v1/checkpoints/${meta.id}/uploads/${encodeURIComponent(uploadId)}/parts/1`, {
      as: null,
      body: one,
      headers: { "content-length": String(one.byteLength), "x-part-sha256": sha },
    });
    await expectError(noToken, 401, "unauthorized");
    expect(await recordedParts(meta.id)).toEqual([]);

    await sendPart(meta.id, uploadId, bytes, 2);
    const missing = await expectError(await complete(meta.id, uploadId), 409, "conflict");
    expect(missing.message).toContain("lacks part(s) 1, 3 of 3");
    expect((await callJson("GET", `/v1/checkpoints/${meta.id}`, 200, { as: "bot" })).status).toBe("pending");
  });

  it("checks the whole archive at completion: parts that each match but make another file are dropped", async () => {
    const published = archive();
    const other = archive(published.byteLength);
    const meta = await publish(published);
    const { uploadId } = await start(meta.id);
    for (const n of [1, 2, 3]) await sendPart(meta.id, uploadId, other, n);
    const error = await expectError(await complete(meta.id, uploadId), 400, "checksum_mismatch");
    expect(error.message).toContain(meta.sha256);
    expect(await env.CHECKPOINTS.head(meta.r2Key)).toBeNull();
    expect((await callJson("GET", `/v1/checkpoints/${meta.id}`, 200, { as: "bot" })).status).toBe("pending");
    // The upload is gone; the right archive can be sent in a new one.
    const again = await start(meta.id, 201);
    expect(again.uploadId).not.toBe(uploadId);
    for (const n of [1, 2, 3]) await sendPart(meta.id, again.uploadId, published, n);
    expect((await complete(meta.id, again.uploadId)).status).toBe(200);
  });

  it("aborts an upload, and takes a one-part archive in one part", async () => {
    const bytes = archive();
    const meta = await publish(bytes);
    const first = await start(meta.id);
    await sendPart(meta.id, first.uploadId, bytes, 1);
    await expectError(await call("DELETE", `/v1/checkpoints/${meta.id}/uploads/${encodeURIComponent(first.uploadId)}`, { as: "bot" }), 403, "forbidden");
    expect(await callJson("DELETE", `/v1/checkpoints/${meta.id}/uploads/${encodeURIComponent(first.uploadId)}`, 200, { as: "trainer" })).toEqual({
      aborted: true,
    });
    expect(await recordedParts(meta.id)).toEqual([]);
    await expectError(await putPart(meta.id, first.uploadId, 2, partOf(bytes, 2), await sha256Hex(partOf(bytes, 2))), 404, "not_found");
    const fresh = await start(meta.id, 201);
    expect(fresh.parts).toEqual([]);

    const small = archive(1000);
    const smallMeta = await publish(small);
    const one = await start(smallMeta.id);
    expect(one).toMatchObject({ partCount: 1, partSize: PART });
    await sendPart(smallMeta.id, one.uploadId, small, 1);
    expect((await complete(smallMeta.id, one.uploadId)).status).toBe(200);
    const res = await call("GET", `/v1/checkpoints/${smallMeta.id}/file`, { as: "trainer" });
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(small);
  });

  it("sends an archive larger than one part to the multipart routes instead of one PUT", async () => {
    const bytes = archive(PART + 1);
    const meta = await publish(bytes);
    const error = await expectError(
      await call("PUT", `/v1/checkpoints/${meta.id}/file`, { as: "trainer", body: bytes, headers: { "content-length": String(bytes.byteLength) } }),
      413,
      "payload_too_large",
    );
    expect(error.message).toContain(`/v1/checkpoints/${meta.id}/uploads`);
    expect(await env.CHECKPOINTS.head(meta.r2Key)).toBeNull();
  });

  it("answers an upload R2 forgot with 409, and finishes one R2 completed before the Worker could answer", async () => {
    const bytes = archive();
    const meta = await publish(bytes);
    const first = await start(meta.id);
    await sendPart(meta.id, first.uploadId, bytes, 1);
    // R2 drops unfinished uploads after a while (7 days by default); here at once.
    await env.CHECKPOINTS.resumeMultipartUpload(meta.r2Key, first.uploadId).abort();
    const part2 = partOf(bytes, 2);
    const expired = await expectError(await putPart(meta.id, first.uploadId, 2, part2, await sha256Hex(part2)), 409, "conflict");
    expect(expired.message).toContain("start a new one");
    expect(await env.DB.prepare("SELECT count(*) AS n FROM checkpoint_uploads WHERE checkpoint_id = ?").bind(meta.id).first("n")).toBe(0);

    // A complete whose answer was lost: R2 holds the object, D1 still the upload.
    const second = await start(meta.id, 201);
    for (const n of [1, 2, 3]) await sendPart(meta.id, second.uploadId, bytes, n);
    const { results } = await env.DB.prepare("SELECT part_number AS partNumber, etag FROM checkpoint_upload_parts WHERE checkpoint_id = ? ORDER BY part_number")
      .bind(meta.id)
      .all<R2UploadedPart>();
    await env.CHECKPOINTS.resumeMultipartUpload(meta.r2Key, second.uploadId).complete(results);
    expect((await complete(meta.id, second.uploadId)).status).toBe(200);
    expect((await callJson("GET", `/v1/checkpoints/${meta.id}`, 200, { as: "bot" })).status).toBe("ready");
  });
});
