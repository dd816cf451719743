import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { candidateOrder, candidateOrderSql, isUniformPick, needTier, pickRankGroup, RANK_CANDIDATES } from "../lib/task-picking.ts";
import { byNeed, MIN_RANKINGS_PER_GROUP, rewardMargin, UNIFORM_TASK_SHARE } from "../lib/tasks.ts";
import { call, callJson, expectError, promptWithCompletions, rater } from "../../test/helpers.ts";

async function activeCheckpoint(kind: "reward" | "policy", seed: number) {
  const bytes = Uint8Array.from({ length: 256 }, (_, i) => (i * 17 + seed) % 251);
  const sha256 = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((x) => x.toString(16).padStart(2, "0")).join("");
  const meta = await callJson("POST", "/v1/checkpoints", 201, { as: "trainer", json: { kind, sha256, sizeBytes: bytes.byteLength } });
  await callJson("PUT", `/v1/checkpoints/${meta.id}/file`, 200, { as: "trainer", body: bytes, headers: { "content-length": String(bytes.byteLength) } });
  await callJson("POST", `/v1/checkpoints/${meta.id}/activate`, 200, { as: "trainer" });
  return meta.id as number;
}

/** A seeded uniform draw (mulberry32), so the mix's share is the same every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const storedRewards = async () => (await env.DB.prepare("SELECT count(*) AS n FROM completion_rewards").first<{ n: number }>())!.n;

describe("rank tasks chosen by the reward model's uncertainty", () => {
  it("measures a group's uncertainty by its smallest reward gap, unknown first, under-ranked groups before all", () => {
    const rewards = new Map([
      [1, 0],
      [2, 1],
      [3, 2],
      [4, 3],
      [5, 0],
      [6, 0.01],
      [7, 5],
      [8, 9],
    ]);
    expect(rewardMargin([1, 2, 3, 4], rewards)).toBe(1);
    expect(rewardMargin([5, 6, 7, 8], rewards)).toBeCloseTo(0.01);
    expect(rewardMargin([1, 2, 3, 99], rewards)).toBeUndefined();
    const groups = [
      { name: "sure, unranked", rankings: 0, margin: 1 },
      { name: "unsure, ranked twice", rankings: 2, margin: 0.001 },
      { name: "unsure, unranked", rankings: 0, margin: 0.01 },
      { name: "new", rankings: 1, margin: undefined },
    ];
    expect([...groups].sort(byNeed).map((g) => g.name)).toEqual(["new", "unsure, unranked", "sure, unranked", "unsure, ranked twice"]);
  });

  it("orders candidates begun-but-under-ranked first, then unranked, then ranked enough, at random among equals, at most RANK_CANDIDATES", () => {
    expect(MIN_RANKINGS_PER_GROUP).toBe(2);
    expect([0, 1, 2, 3].map(needTier)).toEqual([1, 0, 2, 2]);
    const groups = [3, 0, 2, 1, 0, 1, 0].map((rankings, i) => ({ i, rankings }));
    const ordered = candidateOrder(groups, seeded(1));
    expect(ordered.map((g) => g.rankings)).toEqual([1, 1, 0, 0, 0, 2, 3]);
    // Ties fall at random: over seeds, each unranked group comes first among them sometimes.
    const firstUnranked = new Set(Array.from({ length: 30 }, (_, s) => candidateOrder(groups, seeded(s + 1))[2]!.i));
    expect(firstUnranked).toEqual(new Set([1, 4, 6]));
    const many = Array.from({ length: RANK_CANDIDATES + 50 }, (_, i) => ({ i, rankings: 0 }));
    expect(candidateOrder(many, seeded(2))).toHaveLength(RANK_CANDIDATES);
  });

  it("orders candidates the same in SQL (the API's query) as in memory (the benchmark's), up to the random order of equals", async () => {
    const counts = [3, 0, 2, 1, 0, 1, 0, 5, 2, 1];
    const rows = await env.DB.prepare(
      `WITH g(i, rankings) AS (VALUES ${counts.map((n, i) => `(${i}, ${n})`).join(", ")}) SELECT i, rankings FROM g ${candidateOrderSql("rankings")}`,
    ).all<{ i: number; rankings: number }>();
    const inMemory = candidateOrder(
      counts.map((rankings, i) => ({ i, rankings })),
      seeded(3),
    );
    expect(rows.results.map((r) => r.rankings)).toEqual(inMemory.map((g) => g.rankings));
    expect(rows.results.map((r) => r.rankings)).toEqual([1, 1, 1, 0, 0, 0, 2, 2, 3, 5]);
  });

  it("picks the neediest candidate on a uniform pick or without rewards, else the least sure among the neediest tier", () => {
    const rewards = new Map([
      [1, 0],
      [2, 5],
      [3, 0],
      [4, 0.001],
      [5, 0],
      [6, 0.5],
      [7, 0],
      [8, 3],
    ]);
    // Candidate order: begun groups before unranked ones.
    const candidates = [
      { name: "begun, sure", members: [1, 2], rankings: 1 },
      { name: "begun, unsure", members: [5, 6], rankings: 1 },
      { name: "unranked, most unsure", members: [3, 4], rankings: 0 },
      { name: "unranked, unknown", members: [7, 99], rankings: 0 },
    ];
    expect(pickRankGroup(candidates, true, rewards)?.name).toBe("begun, sure");
    expect(pickRankGroup(candidates, false, new Map())?.name).toBe("begun, sure");
    expect(pickRankGroup(candidates, false, rewards)?.name).toBe("begun, unsure");
    // Once no group waits for its second ranking: a model-unknown group first, then the smallest margin.
    expect(pickRankGroup(candidates.slice(2), false, rewards)?.name).toBe("unranked, unknown");
    expect(pickRankGroup([candidates[2]!, { name: "unranked, sure", members: [1, 8], rankings: 0 }], false, rewards)?.name).toBe("unranked, most unsure");
    expect(pickRankGroup([], false, rewards)).toBeUndefined();
  });

  it("mixes in uniform picks at UNIFORM_TASK_SHARE", () => {
    const random = seeded(7);
    const draws = 4000;
    let uniform = 0;
    for (let i = 0; i < draws; i++) if (isUniformPick(random)) uniform++;
    // Binomial(4000, 0.25): sd ≈ 27, so ±0.03 is over 4 sd.
    expect(Math.abs(uniform / draws - UNIFORM_TASK_SHARE)).toBeLessThan(0.03);
  });

  it("stores the live model's rewards and then offers the group it is least sure about most of the time", async () => {
    const { completionIds } = await promptWithCompletions(8);
    const checkpointId = await activeCheckpoint("reward", 1);
    const values = [0, 1, 2, 3, 0, 0.01, 5, 9];
    const res = await callJson("POST", `/v1/checkpoints/${checkpointId}/completion-rewards`, 200, {
      as: "trainer",
      json: { rewards: completionIds.map((completionId, i) => ({ completionId, reward: values[i] })) },
    });
    expect(res).toEqual({ stored: 8 });
    const unsure = completionIds.slice(4).join(",");
    const raterId = await rater();
    let picked = 0;
    const draws = 40;
    for (let i = 0; i < draws; i++) {
      const { task } = await callJson("GET", `/v1/tasks/next?raterId=${raterId}&kind=rank`, 200, { as: "bot" });
      if (
        task.completions
          .map((c: { id: number }) => c.id)
          .sort((a: number, b: number) => a - b)
          .join(",") === unsure
      )
        picked++;
    }
    // Expected share: 1 − UNIFORM_TASK_SHARE/2 = 0.875; 25 of 40 fails with probability ~1e-6.
    expect(UNIFORM_TASK_SHARE).toBe(0.25);
    expect(picked).toBeGreaterThanOrEqual(25);
    expect(picked).toBeLessThan(draws); // the uniform share still offers the other group
  });

  it("refuses rewards for a policy checkpoint, an unknown completion or a repeated one, storing nothing", async () => {
    const { completionIds } = await promptWithCompletions(2);
    const before = await storedRewards();
    const policy = await activeCheckpoint("policy", 2);
    await expectError(
      await call("POST", `/v1/checkpoints/${policy}/completion-rewards`, { as: "trainer", json: { rewards: [{ completionId: completionIds[0], reward: 1 }] } }),
      400,
      "invalid_request",
    );
    const reward = await activeCheckpoint("reward", 3);
    await expectError(
      await call("POST", `/v1/checkpoints/${reward}/completion-rewards`, { as: "trainer", json: { rewards: [{ completionId: 999999, reward: 1 }] } }),
      404,
      "not_found",
    );
    await expectError(
      await call("POST", `/v1/checkpoints/${reward}/completion-rewards`, {
        as: "trainer",
        json: {
          rewards: [
            { completionId: completionIds[0], reward: 1 },
            { completionId: completionIds[0], reward: 2 },
          ],
        },
      }),
      400,
      "invalid_request",
    );
    await expectError(
      await call("POST", `/v1/checkpoints/${reward}/completion-rewards`, { as: "bot", json: { rewards: [{ completionId: completionIds[0], reward: 1 }] } }),
      403,
      "forbidden",
    );
    expect(await storedRewards()).toBe(before);
  });
  // Last: the groups it leaves would be the unknown (most unsure) ones of the test above.
  it("offers a group one rater has begun to the next rater before any unranked group, so that each gets two rankings", async () => {
    const { promptId, completionIds } = await promptWithCompletions(8);
    const [first, second] = [await rater(), await rater()];
    const begun = completionIds.slice(4);
    await callJson("POST", "/v1/rankings", 201, { as: "bot", json: { raterId: first, promptId, completionIds: begun, source: "telegram" } });
    for (let i = 0; i < 6; i++) {
      const { task } = await callJson("GET", `/v1/tasks/next?raterId=${second}&kind=rank`, 200, { as: "bot" });
      expect(task.completions.map((c: { id: number }) => c.id).sort((a: number, b: number) => a - b)).toEqual(begun);
    }
    // The rater who began it is not offered it again.
    const { task } = await callJson("GET", `/v1/tasks/next?raterId=${first}&kind=rank`, 200, { as: "bot" });
    expect(task.completions.map((c: { id: number }) => c.id)).not.toEqual(expect.arrayContaining(begun));
  });
});
