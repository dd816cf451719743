import { describe, expect, it } from "vitest";
import { call, callJson, expectError, promptWithCompletions, rater } from "../../test/helpers.ts";

/** Leases and acks everything in the pool, so later labels are the only untrained ones. */
async function trainEverything() {
  for (;;) {
    const res = await call("POST", "/v1/leases", { as: "trainer", json: { holder: "setup", limit: 2000 } });
    const body = (await res.json()) as { lease: { id: string } | null };
    if (!body.lease) return;
    await callJson("POST", `/v1/leases/${body.lease.id}/ack`, 200, { as: "trainer" });
  }
}

async function allPages(kind: "ranking" | "score", lease?: string) {
  const out: { id: number; [k: string]: unknown }[] = [];
  let cursor: number | null = null;
  do {
    const page: { rankings: typeof out; scores: typeof out; nextCursor: number | null } = await callJson(
      "GET",
      `/v1/labels?kind=${kind}&limit=2${lease ? `&lease=${lease}` : ""}${cursor ? `&cursor=${cursor}` : ""}`,
      200,
      { as: "trainer" },
    );
    out.push(...(kind === "ranking" ? page.rankings : page.scores));
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

describe("label history for training", () => {
  it("pages through trained labels and the lease's own, never another lease's or pooled ones, with groups and ties", async () => {
    await trainEverything();
    const raterId = await rater();
    const { promptId, completionIds } = await promptWithCompletions(8);
    const firstGroup = completionIds.slice(0, 4);
    // Trained before: a ranking with a tie and a score.
    await callJson("POST", "/v1/rankings", 201, {
      as: "bot",
      json: { raterId, promptId, completionIds: firstGroup, levels: [0, 0, 1, 2], source: "telegram" },
    });
    await callJson("POST", "/v1/scores", 201, { as: "bot", json: { raterId, completionId: completionIds[5], value: 0.75, source: "telegram" } });
    await trainEverything();
    const trainedIds = { rankings: (await allPages("ranking")).map((r) => r.id), scores: (await allPages("score")).map((s) => s.id) };
    // New: two scores, leased; then one more, left in the pool.
    await callJson("POST", "/v1/scores", 201, { as: "bot", json: { raterId, completionId: completionIds[6], value: 0, source: "telegram" } });
    await callJson("POST", "/v1/scores", 201, { as: "bot", json: { raterId, completionId: completionIds[7], value: 1, source: "telegram" } });
    const leased = await callJson("POST", "/v1/leases", 201, { as: "trainer", json: { holder: "trainer-h", limit: 10 } });
    const pooled = await callJson("POST", "/v1/scores", 201, { as: "bot", json: { raterId, completionId: completionIds[4], value: 1, source: "web" } });

    const scores = await allPages("score", leased.lease.id);
    expect(scores.map((s) => s.id)).toEqual([...trainedIds.scores, ...leased.scores.map((s: { id: number }) => s.id)]);
    expect(scores.some((s) => s.id === pooled.score.id)).toBe(false);
    const mine = scores.filter((s) => s.raterId === raterId);
    // Each score carries its completion's group of 4 (the second group of the prompt) and the texts.
    expect(mine.map((s) => s.group)).toEqual([completionIds.slice(4), completionIds.slice(4), completionIds.slice(4)]);
    expect(mine.map((s) => s.trained)).toEqual([true, false, false]);
    expect(mine[0]).toMatchObject({ value: 0.75, promptId, completion: expect.stringContaining("续写5"), prompt: expect.any(String) });

    const rankings = await allPages("ranking", leased.lease.id);
    expect(rankings.map((r) => r.id)).toEqual(trainedIds.rankings);
    const tied = rankings.find((r) => r.raterId === raterId) as unknown as { completions: { id: number; level: number }[] };
    expect(tied.completions.map((c) => c.level)).toEqual([0, 0, 1, 2]);
    // Without the lease: trained labels only.
    expect((await allPages("score")).map((s) => s.id)).toEqual(trainedIds.scores);
  });

  it("is for trainers and admins, and checks its query", async () => {
    await expectError(await call("GET", "/v1/labels?kind=score", { as: "bot" }), 403, "forbidden");
    await expectError(await call("GET", "/v1/labels", { as: "trainer" }), 400, "invalid_request");
    await expectError(await call("GET", "/v1/labels?kind=score&lease=nope", { as: "trainer" }), 400, "invalid_request");
    await expectError(await call("GET", "/v1/labels?kind=score&limit=501", { as: "trainer" }), 400, "invalid_request");
  });
});
