import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { byNeed, rewardMargin, UNIFORM_TASK_SHARE } from "../lib/tasks.ts";
import { call, callJson, expectError, promptWithCompletions, rater } from "../../test/helpers.ts";

async function activeCheckpoint(kind: "reward" | "policy", seed: number) {
  const bytes = Uint8Array.from({ length: 256 }, (_, i) => (i * 17 + seed) % 251);
  const sha256 = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((x) => x.toString(16).padStart(2, "0")).join("");
  const meta = await callJson("POST", "/v1/checkpoints", 201, { as: "trainer", json: { kind, sha256, sizeBytes: bytes.byteLength } });
  await callJson("PUT", `/v1/checkpoints/${meta.id}/file`, 200, { as: "trainer", body: bytes, headers: { "content-length": String(bytes.byteLength) } });
  await callJson("POST", `/v1/checkpoints/${meta.id}/activate`, 200, { as: "trainer" });
  return meta.id as number;
}

const storedRewards = async () => (await env.DB.prepare("SELECT count(*) AS n FROM completion_rewards").first<{ n: number }>())!.n;

describe("rank tasks chosen by the reward model's uncertainty", () => {
  it("measures a group's uncertainty by its smallest reward gap, unknown first, under-ranked groups before all", () => {
    const rewards = new Map([[1, 0], [2, 1], [3, 2], [4, 3], [5, 0], [6, 0.01], [7, 5], [8, 9]]);
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
      if (task.completions.map((c: { id: number }) => c.id).sort((a: number, b: number) => a - b).join(",") === unsure) picked++;
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
    await expectError(await call("POST", `/v1/checkpoints/${policy}/completion-rewards`, { as: "trainer", json: { rewards: [{ completionId: completionIds[0], reward: 1 }] } }), 400, "invalid_request");
    const reward = await activeCheckpoint("reward", 3);
    await expectError(await call("POST", `/v1/checkpoints/${reward}/completion-rewards`, { as: "trainer", json: { rewards: [{ completionId: 999999, reward: 1 }] } }), 404, "not_found");
    await expectError(
      await call("POST", `/v1/checkpoints/${reward}/completion-rewards`, { as: "trainer", json: { rewards: [{ completionId: completionIds[0], reward: 1 }, { completionId: completionIds[0], reward: 2 }] } }),
      400,
      "invalid_request",
    );
    await expectError(await call("POST", `/v1/checkpoints/${reward}/completion-rewards`, { as: "bot", json: { rewards: [{ completionId: completionIds[0], reward: 1 }] } }), 403, "forbidden");
    expect(await storedRewards()).toBe(before);
  });
});
