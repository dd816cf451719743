import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, callJson } from "../../test/helpers.ts";
import { heldBody } from "../../test/held-body.ts";
import { TEST_TOKENS } from "../../test/tokens.ts";

// Requests that overlap inside the Worker: one upload held half-sent (test/held-body.ts) while others run.
// vitest.config.ts sets CHECKPOINT_PART_BYTES to 5 MiB.
const PART = 5 * 1024 * 1024;

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

let seed = 0;
function archive(size: number): Uint8Array {
  seed++;
  const bytes = new Uint8Array(size);
  let x = 0x2545f491 ^ seed;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

const publish = async (bytes: Uint8Array) =>
  callJson("POST", "/v1/checkpoints", 201, { as: "trainer", json: { kind: "policy", sha256: await sha256Hex(bytes), sizeBytes: bytes.byteLength } });

const put = (path: string, body: BodyInit, length: number, headers: Record<string, string> = {}) =>
  SELF.fetch(`https://api.test${path}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${TEST_TOKENS.trainer}`, "content-length": String(length), ...headers },
    body,
  });

describe("checkpoint uploads that overlap", () => {
  it("a part still arriving for an aborted upload leaves the upload started after it whole", async () => {
    const bytes = archive(PART + 1000);
    const meta = await publish(bytes);
    const u1 = await callJson("POST", `/v1/checkpoints/${meta.id}/uploads`, 201, { as: "trainer" });
    const part1 = bytes.subarray(0, PART);
    const held = heldBody(part1, 3 * 1024 * 1024);
    const inFlight = put(`/v1/checkpoints/${meta.id}/uploads/${encodeURIComponent(u1.uploadId)}/parts/1`, held.body, PART, {
      "x-part-sha256": await sha256Hex(part1),
    });
    await held.reached;
    await callJson("DELETE", `/v1/checkpoints/${meta.id}/uploads/${encodeURIComponent(u1.uploadId)}`, 200, { as: "trainer" });
    const u2 = await callJson("POST", `/v1/checkpoints/${meta.id}/uploads`, 201, { as: "trainer" });
    expect(u2.uploadId).not.toBe(u1.uploadId);
    held.release();
    const old = await inFlight;
    expect(old.status).toBe(409);
    await old.arrayBuffer();

    // U2 lives on: its parts go in, nothing of U1's is recorded, and it completes.
    expect((await callJson("POST", `/v1/checkpoints/${meta.id}/uploads`, 200, { as: "trainer" })).parts).toEqual([]);
    for (const n of [1, 2]) {
      const part = bytes.subarray((n - 1) * PART, Math.min(n * PART, bytes.byteLength));
      const res = await put(`/v1/checkpoints/${meta.id}/uploads/${encodeURIComponent(u2.uploadId)}/parts/${n}`, part, part.byteLength, {
        "x-part-sha256": await sha256Hex(part),
      });
      expect(`${res.status} ${await res.text()}`).toMatch(/^200 /);
    }
    await callJson("POST", `/v1/checkpoints/${meta.id}/uploads/${encodeURIComponent(u2.uploadId)}/complete`, 200, { as: "trainer" });
    const file = await call("GET", `/v1/checkpoints/${meta.id}/file`, { as: "bot" });
    expect(await sha256Hex(new Uint8Array(await file.arrayBuffer()))).toBe(meta.sha256);
  });

  it("a wrong upload that ends after a right one does not delete the right one's file", async () => {
    const bytes = archive(4 * 1024 * 1024);
    const wrong = bytes.slice();
    wrong[wrong.byteLength - 1] = (wrong[wrong.byteLength - 1]! + 1) % 256;
    const meta = await publish(bytes);
    const held = heldBody(wrong, 3 * 1024 * 1024);
    const bad = put(`/v1/checkpoints/${meta.id}/file`, held.body, wrong.byteLength);
    await held.reached;
    const good = await put(`/v1/checkpoints/${meta.id}/file`, bytes, bytes.byteLength);
    expect(good.status).toBe(200);
    await good.arrayBuffer();
    held.release();
    const refused = await bad;
    expect(refused.status).toBe(400);
    await refused.arrayBuffer();

    expect((await callJson("GET", `/v1/checkpoints/${meta.id}`, 200, { as: "bot" })).status).toBe("ready");
    const file = await call("GET", `/v1/checkpoints/${meta.id}/file`, { as: "bot" });
    expect(file.status).toBe(200);
    expect(await sha256Hex(new Uint8Array(await file.arrayBuffer()))).toBe(meta.sha256);
    // The refused upload's bytes are gone; only the served file is left under the checkpoint's keys.
    expect((await env.CHECKPOINTS.list({ prefix: `policy/${meta.sha256}` })).objects).toHaveLength(1);
  });
});
