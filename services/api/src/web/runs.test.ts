import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, callJson, expectError } from "../../test/helpers.ts";
import { body, loginAs, page } from "../../test/web-helpers.ts";
import { runsAnswer } from "./runs.ts";

const hex = (n: number) => n.toString(16).padStart(64, "0");
let sha = 0x5eed0000;

/** One run as the trainer daemon leaves it: claimed, its checkpoints published with metrics, finished. */
async function trainerRun(opts: { reward: Record<string, number>; rejected?: string; policy?: Record<string, number>; run: Record<string, number> }) {
  await env.DB.prepare("UPDATE training_runs SET status = 'cancelled' WHERE status IN ('requested', 'running')").run();
  const run = await callJson("POST", "/v1/training-runs", 201, { json: { kind: "full" } });
  const { run: claimed } = await callJson("POST", "/v1/training-runs/claim", 200, { as: "trainer", json: { trainer: "gpu-test" } });
  expect(claimed.id).toBe(run.id);
  const reward = await callJson("POST", "/v1/checkpoints", 201, {
    as: "trainer",
    json: {
      kind: "reward",
      sha256: hex(++sha),
      sizeBytes: 10,
      metrics: opts.reward,
      trainingRunId: run.id,
      ...(opts.rejected ? { rejectedReason: opts.rejected } : {}),
    },
  });
  const policy = opts.policy
    ? await callJson("POST", "/v1/checkpoints", 201, {
        as: "trainer",
        json: { kind: "policy", sha256: hex(++sha), sizeBytes: 10, metrics: opts.policy, trainingRunId: run.id, config: { reward_checkpoint: reward.id } },
      })
    : undefined;
  await callJson("PATCH", `/v1/training-runs/${run.id}`, 200, { as: "trainer", json: { status: "succeeded", metrics: opts.run, summary: `run ${run.id}` } });
  return { run, reward, policy };
}

describe("GET /app/api/runs (the Runs tab)", () => {
  it("lists runs newest first with their checkpoints and the figures the charts draw, for admins only", async () => {
    const first = await trainerRun({
      reward: { held_out_accuracy: 0.71, held_out_pairs: 120, "reliability/rater_1": 0.9 },
      policy: { "env/reward_mean": 0.4, "eval/kl_to_reference": 0.02, "eval/distinct_2": 0.61, "eval/reference_distinct_2": 0.66 },
      run: { "labels/used_rankings": 30, "labels/used_scores": 4 },
    });
    const second = await trainerRun({
      reward: { held_out_accuracy: 0.69, active_held_out_accuracy: 0.71, held_out_pairs: 140 },
      rejected: "held-out accuracy 0.69 < active 0.71 on 140 pairs",
      // A run whose policy checkpoint is missing: its policy figures come from the run's own `policy/` metrics.
      run: { "labels/used_rankings": 12, "policy/env/reward_mean": 0.55, "policy/eval/kl_to_reference": 0.05 },
    });
    const { cookie } = await loginAs("web:runs-admin", "admin");
    const res = await page("GET", "/runs?limit=2", { cookie });
    expect(res.status).toBe(200);
    const answer = await body(res);
    expect(runsAnswer.safeParse(answer).error).toBeUndefined();
    const { items, nextCursor } = answer;
    expect(items.map((r: { id: number }) => r.id)).toEqual([second.run.id, first.run.id]);
    expect(nextCursor).toBe(first.run.id);
    const [newer, older] = items;
    expect(older.checkpoints.map((c: { kind: string }) => c.kind)).toEqual(["reward", "policy"]);
    expect(older.figures).toEqual({
      heldOutAccuracy: 0.71,
      activeHeldOutAccuracy: null,
      heldOutPairs: 120,
      modelRaterTau: null,
      raterRaterTau: null,
      rewardMean: 0.4,
      rewardModelVersion: first.reward.version,
      klToReference: 0.02,
      distinct2: 0.61,
      referenceDistinct2: 0.66,
      labelsUsed: 34,
      usedRankings: 30,
      usedScores: 4,
    });
    expect(newer.checkpoints).toEqual([
      expect.objectContaining({
        kind: "reward",
        version: second.reward.version,
        active: false,
        rejectedReason: "held-out accuracy 0.69 < active 0.71 on 140 pairs",
      }),
    ]);
    expect(newer.figures).toMatchObject({
      heldOutAccuracy: 0.69,
      activeHeldOutAccuracy: 0.71,
      rewardMean: 0.55,
      rewardModelVersion: null,
      klToReference: 0.05,
      distinct2: null,
      labelsUsed: 12,
      usedScores: null,
    });
    // A GRPO policy's mean reward under trl's GRPO name.
    const grpo = await trainerRun({
      reward: { held_out_accuracy: 0.7, held_out_pairs: 100 },
      policy: { reward: 0.83, "eval/kl_to_reference": 1.5 },
      run: { "labels/used_rankings": 5 },
    });
    const withGrpo = await body(await page("GET", "/runs?limit=1", { cookie }));
    expect(withGrpo.items[0].id).toBe(grpo.run.id);
    expect(withGrpo.items[0].figures).toMatchObject({ rewardMean: 0.83, rewardModelVersion: grpo.reward.version, klToReference: 1.5 });
    // Only the figures: no file keys, configs or per-rater metrics leave through the page.
    expect(JSON.stringify(items)).not.toMatch(/r2Key|reliability|config/);

    const next = await body(await page("GET", `/runs?limit=2&cursor=${nextCursor}`, { cookie }));
    expect(next.items.every((r: { id: number }) => r.id < first.run.id)).toBe(true);

    const { cookie: raterCookie } = await loginAs("web:runs-rater");
    await expectError(await page("GET", "/runs", { cookie: raterCookie }), 403, "forbidden");
    await expectError(await page("GET", "/runs"), 401, "unauthorized");
    for (const query of ["limit=0", "limit=51", "limit=abc", "cursor=-1"])
      await expectError(await page("GET", `/runs?${query}`, { cookie }), 400, "invalid_request");
    // The bearer-token API is unchanged: admins there see runs through /v1/training-runs.
    expect((await call("GET", "/v1/training-runs")).status).toBe(200);
  });
});
