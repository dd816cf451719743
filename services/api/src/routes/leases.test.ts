import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, callJson, expectError, expectNothingStored, promptWithCompletions, rater } from "../../test/helpers.ts";

/** Stores `scores` scores and `rankings` rank lists from fresh raters. */
async function labels(scores: number, rankings: number) {
  for (let i = 0; i < rankings; i++) {
    const raterId = await rater();
    const { promptId, completionIds } = await promptWithCompletions(4);
    await callJson("POST", "/v1/rankings", 201, { as: "bot", json: { raterId, promptId, completionIds, source: "telegram" } });
  }
  const raterId = await rater();
  const { completionIds } = await promptWithCompletions(scores);
  for (const completionId of completionIds) {
    await callJson("POST", "/v1/scores", 201, { as: "bot", json: { raterId, completionId, value: 0.5, source: "telegram" } });
  }
}

/** Leases and acks until the pool is empty, so a test starts from a known state. */
async function drain() {
  for (;;) {
    const body = await callJson("POST", "/v1/leases", (await poolSize()) > 0 ? 201 : 200, { as: "trainer", json: { holder: "drain", limit: 2000 } });
    if (!body.lease) return;
    await callJson("POST", `/v1/leases/${body.lease.id}/ack`, 200, { as: "trainer" });
  }
}

async function poolSize() {
  const now = Date.now();
  const q = (t: string) =>
    env.DB.prepare(`SELECT count(*) AS n FROM ${t} WHERE trained_at IS NULL AND (lease_expires_at IS NULL OR lease_expires_at <= ?)`)
      .bind(now)
      .first<{ n: number }>();
  return (await q("scores"))!.n + (await q("rankings"))!.n;
}

describe("leases", () => {
  it("leases rank lists first, then scores, with their texts, and ack marks them trained once", async () => {
    await drain();
    await labels(3, 2);
    const leased = await callJson("POST", "/v1/leases", 201, { as: "trainer", json: { holder: "trainer-a", limit: 4, ttlSeconds: 60 } });
    expect(leased.rankings).toHaveLength(2);
    expect(leased.scores).toHaveLength(2);
    expect(leased.rankings[0].completions).toHaveLength(4);
    expect(leased.rankings[0].prompt).toMatch(/^刚收到货/);
    expect(leased.scores[0]).toMatchObject({ value: 0.5, completion: expect.any(String), prompt: expect.any(String) });

    const ack = await callJson("POST", `/v1/leases/${leased.lease.id}/ack`, 200, { as: "trainer" });
    expect(ack.acknowledged).toEqual({ rankings: 2, scores: 2 });
    const again = await callJson("POST", `/v1/leases/${leased.lease.id}/ack`, 200, { as: "trainer" });
    expect(again.acknowledged).toEqual({ rankings: 0, scores: 0 });

    // The one score left is still in the pool; the acked labels are not.
    const rest = await callJson("POST", "/v1/leases", 201, { as: "trainer", json: { holder: "trainer-a" } });
    expect(rest.rankings).toHaveLength(0);
    expect(rest.scores).toHaveLength(1);
  });

  it("gives two trainers asking at once disjoint labels", async () => {
    await drain();
    await labels(10, 2);
    const [a, b] = await Promise.all([
      callJson("POST", "/v1/leases", 201, { as: "trainer", json: { holder: "trainer-a", limit: 7 } }),
      callJson("POST", "/v1/leases", 201, { as: "trainer", json: { holder: "trainer-b", limit: 7 } }),
    ]);
    const ids = (x: { rankings: { id: number }[]; scores: { id: number }[] }) => [...x.rankings.map((r) => `r${r.id}`), ...x.scores.map((s) => `s${s.id}`)];
    const [idsA, idsB] = [ids(a), ids(b)];
    expect(idsA.length + idsB.length).toBe(12);
    expect(idsA.filter((x) => idsB.includes(x))).toEqual([]);
  });

  it("returns an expired lease's labels to the pool and refuses its late ack", async () => {
    await drain();
    await labels(2, 1);
    const first = await callJson("POST", "/v1/leases", 201, { as: "trainer", json: { holder: "slow", ttlSeconds: 1 } });
    expect(first.rankings.length + first.scores.length).toBe(3);
    expect((await callJson("POST", "/v1/leases", 200, { as: "trainer", json: { holder: "other" } })).lease).toBeNull();

    await new Promise((resolve) => setTimeout(resolve, 1100));
    const second = await callJson("POST", "/v1/leases", 201, { as: "trainer", json: { holder: "other" } });
    expect(second.rankings.map((r: { id: number }) => r.id)).toEqual(first.rankings.map((r: { id: number }) => r.id));
    expect(second.scores.map((s: { id: number }) => s.id)).toEqual(first.scores.map((s: { id: number }) => s.id));

    await expectError(await call("POST", `/v1/leases/${first.lease.id}/ack`, { as: "trainer" }), 409, "lease_expired");
    const ack = await callJson("POST", `/v1/leases/${second.lease.id}/ack`, 200, { as: "trainer" });
    expect(ack.acknowledged).toEqual({ rankings: 1, scores: 2 });
    const trained = await env.DB.prepare("SELECT count(*) AS n FROM scores WHERE lease_id = ? AND trained_at IS NOT NULL")
      .bind(second.lease.id)
      .first<{ n: number }>();
    expect(trained!.n).toBe(2);
  });

  it("extends a lease so its labels stay held", async () => {
    await drain();
    await labels(1, 0);
    const leased = await callJson("POST", "/v1/leases", 201, { as: "trainer", json: { holder: "long", ttlSeconds: 1 } });
    await callJson("POST", `/v1/leases/${leased.lease.id}/extend`, 200, { as: "trainer", json: { ttlSeconds: 60 } });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await callJson("POST", "/v1/leases", 200, { as: "trainer", json: { holder: "other" } })).lease).toBeNull();
    expect((await callJson("POST", `/v1/leases/${leased.lease.id}/ack`, 200, { as: "trainer" })).acknowledged.scores).toBe(1);
  });

  it("refuses malformed requests, unknown leases and other roles, storing nothing", async () => {
    await drain();
    await labels(1, 0);
    await expectNothingStored(async () => {
      for (const json of [
        {},
        { holder: "" },
        { holder: "a", limit: 0 },
        { holder: "a", limit: 2001 },
        { holder: "a", ttlSeconds: 0 },
        { holder: "a", kinds: ["vibes"] },
      ]) {
        await expectError(await call("POST", "/v1/leases", { as: "trainer", json }), 400, "invalid_request");
      }
      await expectError(await call("POST", "/v1/leases", { as: "bot", json: { holder: "a" } }), 403, "forbidden");
      await expectError(await call("POST", "/v1/leases/not-a-uuid/ack", { as: "trainer" }), 400, "invalid_request");
      await expectError(await call("POST", `/v1/leases/${crypto.randomUUID()}/ack`, { as: "trainer" }), 404, "not_found");
    });
    expect(await poolSize()).toBe(1);
  });
});

describe("releasing a lease", () => {
  it("gives its labels back to the pool untrained, with the reason, and refuses a later ack", async () => {
    await drain();
    await labels(2, 1);
    const leased = await callJson("POST", "/v1/leases", 201, { as: "trainer", json: { holder: "trainer-r", limit: 10, ttlSeconds: 600 } });
    expect(await poolSize()).toBe(0);
    const released = await callJson("POST", `/v1/leases/${leased.lease.id}/release`, 200, {
      as: "trainer",
      json: { reason: "3 labels make no held-out pair yet" },
    });
    expect(released.released).toEqual({ rankings: 1, scores: 2 });
    expect(released.lease).toMatchObject({ releaseReason: "3 labels make no held-out pair yet", releasedAt: expect.any(String), ackedAt: null });
    expect(await poolSize()).toBe(3);
    await expectError(await call("POST", `/v1/leases/${leased.lease.id}/ack`, { as: "trainer" }), 409, "conflict");
    // Releasing again answers the same; the labels can be leased by the next run.
    expect((await callJson("POST", `/v1/leases/${leased.lease.id}/release`, 200, { as: "trainer", json: { reason: "again" } })).released).toEqual({
      rankings: 0,
      scores: 0,
    });
    const next = await callJson("POST", "/v1/leases", 201, { as: "trainer", json: { holder: "trainer-r", limit: 10 } });
    expect(next.rankings.length + next.scores.length).toBe(3);
    await callJson("POST", `/v1/leases/${next.lease.id}/ack`, 200, { as: "trainer" });
    await expectError(await call("POST", `/v1/leases/${next.lease.id}/release`, { as: "trainer", json: { reason: "too late" } }), 409, "conflict");
  });

  it("refuses a release without a reason, and from any role but the trainer", async () => {
    await drain();
    await labels(1, 0);
    const leased = await callJson("POST", "/v1/leases", 201, { as: "trainer", json: { holder: "trainer-r" } });
    await expectError(await call("POST", `/v1/leases/${leased.lease.id}/release`, { as: "trainer", json: {} }), 400, "invalid_request");
    await expectError(await call("POST", `/v1/leases/${leased.lease.id}/release`, { as: "trainer", json: { reason: " " } }), 400, "invalid_request");
    await expectError(await call("POST", `/v1/leases/${leased.lease.id}/release`, { as: "bot", json: { reason: "x" } }), 403, "forbidden");
    expect(await poolSize()).toBe(0);
  });
});

describe("acknowledging what was used", () => {
  it("marks only the listed labels trained and gives the lease's others back to the pool", async () => {
    await drain();
    await labels(3, 2);
    const leased = await callJson("POST", "/v1/leases", 201, { as: "trainer", json: { holder: "trainer-p", limit: 10 } });
    const usedRanking = leased.rankings[0].id as number;
    const usedScores = leased.scores.slice(0, 2).map((s: { id: number }) => s.id) as number[];
    const ack = await callJson("POST", `/v1/leases/${leased.lease.id}/ack`, 200, {
      as: "trainer",
      json: { rankingIds: [usedRanking], scoreIds: [...usedScores, 999999], releaseReason: "made no preference pair yet" },
    });
    expect(ack.acknowledged).toEqual({ rankings: 1, scores: 2 });
    expect(ack.released).toEqual({ rankings: 1, scores: 1 });
    expect(ack.lease.releaseReason).toBe("made no preference pair yet");
    const trained = await env.DB.prepare("SELECT count(*) AS n FROM scores WHERE trained_at IS NOT NULL AND id IN (?, ?)")
      .bind(usedScores[0]!, usedScores[1]!)
      .first<{ n: number }>();
    expect(trained!.n).toBe(2);
    // The unused ranking and score are in the pool again; a second ack changes nothing.
    expect(await poolSize()).toBe(2);
    expect((await callJson("POST", `/v1/leases/${leased.lease.id}/ack`, 200, { as: "trainer" })).acknowledged).toEqual({ rankings: 0, scores: 0 });
    expect(await poolSize()).toBe(2);
  });

  // 150 stored labels, one request each: seconds on a busy machine, more than vitest's default 5 s.
  it("takes more used ids than one D1 statement binds", async () => {
    await drain();
    await labels(150, 0);
    const leased = await callJson("POST", "/v1/leases", 201, { as: "trainer", json: { holder: "trainer-p", limit: 500 } });
    const ids = leased.scores.map((s: { id: number }) => s.id) as number[];
    const ack = await callJson("POST", `/v1/leases/${leased.lease.id}/ack`, 200, { as: "trainer", json: { rankingIds: [], scoreIds: ids.slice(0, 140) } });
    expect(ack.acknowledged).toEqual({ rankings: 0, scores: 140 });
    expect(ack.released).toEqual({ rankings: 0, scores: 10 });
    await expectError(await call("POST", `/v1/leases/${leased.lease.id}/release`, { as: "trainer", json: { reason: "x" } }), 409, "conflict");
    await expectNothingStored(() => call("POST", `/v1/leases/${leased.lease.id}/ack`, { as: "trainer", json: { scoreIds: ["x"] } }));
  }, 60_000);
});
