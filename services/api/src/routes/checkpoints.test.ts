import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, callJson, expectError, expectNothingStored } from "../../test/helpers.ts";

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

let seed = 0;
/** Distinct file contents per call, so each publishes a new checkpoint. */
function fileBytes(size = 2048): Uint8Array {
  seed++;
  return Uint8Array.from({ length: size }, (_, i) => (i * 31 + seed * 7) % 251);
}

async function publish(kind: "policy" | "reward", bytes = fileBytes()) {
  const sha256 = await sha256Hex(bytes);
  const meta = await callJson("POST", "/v1/checkpoints", 201, {
    as: "trainer",
    json: { kind, sha256, sizeBytes: bytes.byteLength, metrics: { accuracy: 0.97 }, config: { n_layer: 2 } },
  });
  return { meta, bytes, sha256 };
}

describe("checkpoints", () => {
  it("publishes metadata, uploads the file into R2, downloads it byte for byte", async () => {
    const { meta, bytes, sha256 } = await publish("reward");
    expect(meta).toMatchObject({ kind: "reward", status: "pending", active: false, sha256, metrics: { accuracy: 0.97 } });
    const ready = await callJson("PUT", `/v1/checkpoints/${meta.id}/file`, 200, {
      as: "trainer",
      body: bytes,
      headers: { "content-length": String(bytes.byteLength) },
    });
    expect(ready.status).toBe("ready");
    const stored = await env.CHECKPOINTS.head(ready.r2Key);
    expect(stored?.size).toBe(bytes.byteLength);

    const res = await call("GET", `/v1/checkpoints/${meta.id}/file`, { as: "bot" });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-checkpoint-sha256")).toBe(sha256);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
  });

  it("numbers versions per kind and answers a repeated publish with the first record", async () => {
    const a = await publish("policy");
    const b = await publish("policy");
    expect(b.meta.version).toBe(a.meta.version + 1);
    const again = await callJson("POST", "/v1/checkpoints", 200, { as: "trainer", json: { kind: "policy", sha256: a.sha256, sizeBytes: a.bytes.byteLength } });
    expect(again.id).toBe(a.meta.id);
  });

  it("refuses a file whose sha256 does not match, leaving it pending and R2 empty", async () => {
    const { meta, bytes } = await publish("reward");
    const tampered = bytes.slice();
    tampered[0] = (tampered[0]! + 1) % 256;
    await expectError(
      await call("PUT", `/v1/checkpoints/${meta.id}/file`, { as: "trainer", body: tampered, headers: { "content-length": String(tampered.byteLength) } }),
      400,
      "checksum_mismatch",
    );
    expect((await callJson("GET", `/v1/checkpoints/${meta.id}`, 200, { as: "bot" })).status).toBe("pending");
    expect((await env.CHECKPOINTS.list({ prefix: meta.r2Key })).objects).toEqual([]);
    await expectError(await call("GET", `/v1/checkpoints/${meta.id}/file`, { as: "bot" }), 409, "conflict");
  });

  it("refuses a body of another length than declared", async () => {
    const { meta, bytes } = await publish("reward");
    const short = bytes.slice(0, 100);
    await expectError(
      await call("PUT", `/v1/checkpoints/${meta.id}/file`, { as: "trainer", body: short, headers: { "content-length": "100" } }),
      400,
      "invalid_request",
    );
    expect(await env.CHECKPOINTS.head(meta.r2Key)).toBeNull();
  });

  it("keeps exactly one active checkpoint per kind", async () => {
    const first = await publish("reward");
    const second = await publish("reward");
    await expectError(await call("POST", `/v1/checkpoints/${first.meta.id}/activate`, { as: "trainer" }), 409, "conflict");
    for (const c of [first, second]) {
      await callJson("PUT", `/v1/checkpoints/${c.meta.id}/file`, 200, {
        as: "trainer",
        body: c.bytes,
        headers: { "content-length": String(c.bytes.byteLength) },
      });
    }
    await callJson("POST", `/v1/checkpoints/${first.meta.id}/activate`, 200, { as: "trainer" });
    expect((await callJson("GET", "/v1/checkpoints/active/reward", 200, { as: "bot" })).id).toBe(first.meta.id);
    await callJson("POST", `/v1/checkpoints/${second.meta.id}/activate`, 200, { as: "admin" });
    expect((await callJson("GET", "/v1/checkpoints/active/reward", 200, { as: "bot" })).id).toBe(second.meta.id);
    const active = await env.DB.prepare("SELECT count(*) AS n FROM checkpoints WHERE kind = 'reward' AND active = 1").first<{ n: number }>();
    expect(active!.n).toBe(1);
    // The partial unique index refuses a second active row even from raw SQL.
    await expect(env.DB.prepare("UPDATE checkpoints SET active = 1 WHERE id = ?").bind(first.meta.id).run()).rejects.toThrow(/UNIQUE/);
    const list = await callJson("GET", "/v1/checkpoints?kind=reward&status=ready", 200, { as: "trainer" });
    expect(list.items.map((c: { id: number }) => c.id)).toEqual(expect.arrayContaining([first.meta.id, second.meta.id]));
  });

  it("refuses malformed metadata, oversized checkpoints and unknown ids, storing nothing", async () => {
    await expectNothingStored(async () => {
      for (const json of [
        {},
        { kind: "policy", sha256: "xyz", sizeBytes: 1 },
        { kind: "policy", sha256: "A".repeat(64), sizeBytes: 1 },
        { kind: "value", sha256: "a".repeat(64), sizeBytes: 1 },
        { kind: "policy", sha256: "a".repeat(64), sizeBytes: 0 },
        { kind: "policy", sha256: "a".repeat(64), sizeBytes: 1, metrics: { accuracy: "high" } },
      ]) {
        await expectError(await call("POST", "/v1/checkpoints", { as: "trainer", json }), 400, "invalid_request");
      }
      await expectError(
        await call("POST", "/v1/checkpoints", { as: "trainer", json: { kind: "policy", sha256: "b".repeat(64), sizeBytes: 64 * 1024 * 1024 } }),
        413,
        "payload_too_large",
      );
      await expectError(
        await call("POST", "/v1/checkpoints", { as: "trainer", json: { kind: "policy", sha256: "c".repeat(64), sizeBytes: 5, trainingRunId: 999999 } }),
        404,
        "not_found",
      );
      await expectError(await call("POST", "/v1/checkpoints", { as: "bot", json: { kind: "policy", sha256: "d".repeat(64), sizeBytes: 5 } }), 403, "forbidden");
      await expectError(await call("PUT", "/v1/checkpoints/999999/file", { as: "trainer", body: "abc", headers: { "content-length": "3" } }), 404, "not_found");
      await expectError(await call("POST", "/v1/checkpoints/999999/activate", { as: "trainer" }), 404, "not_found");
      await expectError(await call("GET", "/v1/checkpoints/active/value", { as: "bot" }), 400, "invalid_request");
    });
  });

  it("keeps a rejected checkpoint with its reason and file, and never activates it", async () => {
    const bytes = fileBytes();
    const sha256 = await sha256Hex(bytes);
    const meta = await callJson("POST", "/v1/checkpoints", 201, {
      as: "trainer",
      json: {
        kind: "reward",
        sha256,
        sizeBytes: bytes.byteLength,
        metrics: { held_out_accuracy: 0.61, active_held_out_accuracy: 0.7 },
        rejectedReason: "held-out accuracy 0.6100 < active 0.7000 on 120 pairs",
      },
    });
    expect(meta.rejectedReason).toMatch(/^held-out accuracy/);
    await callJson("PUT", `/v1/checkpoints/${meta.id}/file`, 200, { as: "trainer", body: bytes, headers: { "content-length": String(bytes.byteLength) } });
    const error = await expectError(await call("POST", `/v1/checkpoints/${meta.id}/activate`, { as: "admin" }), 409, "conflict");
    expect(error.message).toContain("rejected");
    expect((await callJson("GET", `/v1/checkpoints/${meta.id}`, 200, { as: "bot" })).active).toBe(false);
    // The database itself refuses it too.
    await expect(env.DB.prepare("UPDATE checkpoints SET active = 1 WHERE id = ?").bind(meta.id).run()).rejects.toThrow(/CHECK/);
  });

  it("lets an admin mark one policy as PPO's reference, and only a ready policy", async () => {
    await expectError(await call("GET", "/v1/checkpoints/reference/policy", { as: "trainer" }), 404, "not_found");
    const upload = async (kind: "policy" | "reward") => {
      const { meta, bytes } = await publish(kind);
      await callJson("PUT", `/v1/checkpoints/${meta.id}/file`, 200, { as: "trainer", body: bytes, headers: { "content-length": String(bytes.byteLength) } });
      return meta.id as number;
    };
    const [first, second, reward] = [await upload("policy"), await upload("policy"), await upload("reward")];
    await expectError(await call("POST", `/v1/checkpoints/${first}/reference`, { as: "trainer" }), 403, "forbidden");
    await expectError(await call("POST", `/v1/checkpoints/${reward}/reference`, { as: "admin" }), 400, "invalid_request");
    const pending = (await publish("policy")).meta.id;
    await expectError(await call("POST", `/v1/checkpoints/${pending}/reference`, { as: "admin" }), 409, "conflict");
    await callJson("POST", `/v1/checkpoints/${first}/reference`, 200, { as: "admin" });
    expect((await callJson("GET", "/v1/checkpoints/reference/policy", 200, { as: "trainer" })).id).toBe(first);
    await callJson("POST", `/v1/checkpoints/${second}/reference`, 200, { as: "admin" });
    expect((await callJson("GET", "/v1/checkpoints/reference/policy", 200, { as: "trainer" })).id).toBe(second);
    expect((await callJson("GET", `/v1/checkpoints/${first}`, 200, { as: "trainer" })).reference).toBe(false);
  });

  it("refuses a rejected policy as PPO's reference, as activation does", async () => {
    const bytes = fileBytes();
    const meta = await callJson("POST", "/v1/checkpoints", 201, {
      as: "trainer",
      json: { kind: "policy", sha256: await sha256Hex(bytes), sizeBytes: bytes.byteLength, rejectedReason: "KL 9.1 > budget 6.0" },
    });
    await callJson("PUT", `/v1/checkpoints/${meta.id}/file`, 200, { as: "trainer", body: bytes, headers: { "content-length": String(bytes.byteLength) } });
    const error = await expectError(await call("POST", `/v1/checkpoints/${meta.id}/reference`, { as: "admin" }), 409, "conflict");
    expect(error.message).toContain("rejected");
    expect((await callJson("GET", `/v1/checkpoints/${meta.id}`, 200, { as: "bot" })).reference).toBe(false);
  });

  it("refuses a __proto__ key in config or metrics with 400 saying so, instead of dropping it", async () => {
    const sha256 = await sha256Hex(fileBytes());
    await expectNothingStored(async () => {
      for (const body of [
        `{"kind":"policy","sha256":"${sha256}","sizeBytes":10,"config":{"__proto__":{"n_layer":2}}}`,
        `{"kind":"policy","sha256":"${sha256}","sizeBytes":10,"config":{"model":{"__proto__":1}}}`,
        `{"kind":"policy","sha256":"${sha256}","sizeBytes":10,"metrics":{"__proto__":0.5}}`,
      ]) {
        const error = await expectError(
          await call("POST", "/v1/checkpoints", { as: "trainer", body, headers: { "content-type": "application/json" } }),
          400,
          "invalid_request",
        );
        expect(error.message).toContain("__proto__");
      }
    });
  });

  it("answers eight identical publishes at once with one record, never SQLite's words", async () => {
    const bytes = fileBytes();
    const json = { kind: "reward", sha256: await sha256Hex(bytes), sizeBytes: bytes.byteLength };
    const answers = await Promise.all(Array.from({ length: 8 }, () => call("POST", "/v1/checkpoints", { as: "trainer", json })));
    const bodies = await Promise.all(answers.map(async (res) => ({ status: res.status, body: (await res.json()) as { id?: number; error?: unknown } })));
    expect(bodies.map((b) => b.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(bodies.map((b) => b.body.id)).size).toBe(1);
  });
});
