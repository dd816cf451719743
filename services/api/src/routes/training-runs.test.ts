import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../worker.ts";
import { call, callJson, expectError, expectNothingStored, promptWithCompletions, rater } from "../../test/helpers.ts";

/** Finishes whatever run is open so a test starts with none. */
async function closeOpenRuns() {
  await env.DB.prepare("UPDATE training_runs SET status = 'cancelled' WHERE status IN ('requested', 'running')").run();
}

async function runCron() {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "*/5 * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
}

describe("training runs", () => {
  it("goes requested → running (claimed by one trainer) → succeeded with metrics", async () => {
    await closeOpenRuns();
    const run = await callJson("POST", "/v1/training-runs", 201, { json: { kind: "reward" } });
    expect(run).toMatchObject({ status: "requested", requestedBy: "admin", kind: "reward" });
    await expectError(await call("POST", "/v1/training-runs", { json: {} }), 409, "conflict");

    const [a, b] = await Promise.all([
      callJson("POST", "/v1/training-runs/claim", 200, { as: "trainer", json: { trainer: "gpu-1" } }),
      callJson("POST", "/v1/training-runs/claim", 200, { as: "trainer", json: { trainer: "gpu-2" } }),
    ]);
    const claimed = [a.run, b.run].filter(Boolean);
    expect(claimed).toHaveLength(1);
    expect(claimed[0]).toMatchObject({ id: run.id, status: "running" });

    const done = await callJson("PATCH", `/v1/training-runs/${run.id}`, 200, { as: "trainer", json: { status: "succeeded", metrics: { accuracy: 0.96 } } });
    expect(done).toMatchObject({ status: "succeeded", metrics: { accuracy: 0.96 } });
    expect(done.finishedAt).toEqual(expect.any(String));
    const listed = await callJson("GET", "/v1/training-runs?status=succeeded", 200, { as: "bot" });
    expect(listed.items.map((r: { id: number }) => r.id)).toContain(run.id);
  });

  it("refuses transitions that skip a step, changing nothing", async () => {
    await closeOpenRuns();
    const run = await callJson("POST", "/v1/training-runs", 201, { json: {} });
    await expectError(await call("PATCH", `/v1/training-runs/${run.id}`, { as: "trainer", json: { status: "succeeded" } }), 409, "conflict");
    expect((await callJson("GET", `/v1/training-runs/${run.id}`, 200, { as: "bot" })).status).toBe("requested");
    await callJson("PATCH", `/v1/training-runs/${run.id}`, 200, { json: { status: "cancelled" } });
  });

  it("lets a trainer put a run it cannot finish back in the queue", async () => {
    await closeOpenRuns();
    const run = await callJson("POST", "/v1/training-runs", 201, { json: {} });
    await callJson("POST", "/v1/training-runs/claim", 200, { as: "trainer", json: { trainer: "gpu-1" } });
    const back = await callJson("PATCH", `/v1/training-runs/${run.id}`, 200, { as: "trainer", json: { status: "requested" } });
    expect(back).toMatchObject({ status: "requested", trainer: null, startedAt: null });
    await callJson("PATCH", `/v1/training-runs/${run.id}`, 200, { json: { status: "cancelled" } });
  });

  it("cron requests a run once enough untrained labels wait, and not twice", async () => {
    await closeOpenRuns();
    const count = async () =>
      (await env.DB.prepare("SELECT count(*) AS n FROM training_runs WHERE requested_by = 'cron' AND status = 'requested'").first<{ n: number }>())!.n;
    // Mark every existing label trained, then add fewer than MIN_NEW_LABELS_FOR_RUN (3 in tests).
    await env.DB.prepare("UPDATE scores SET trained_at = 1").run();
    await env.DB.prepare("UPDATE rankings SET trained_at = 1").run();
    const raterId = await rater();
    const { completionIds } = await promptWithCompletions(3);
    for (const completionId of completionIds.slice(0, 2)) {
      await callJson("POST", "/v1/scores", 201, { as: "bot", json: { raterId, completionId, value: 1, source: "web" } });
    }
    await runCron();
    expect(await count()).toBe(0);
    await callJson("POST", "/v1/scores", 201, { as: "bot", json: { raterId, completionId: completionIds[2], value: 1, source: "web" } });
    await runCron();
    await runCron();
    expect(await count()).toBe(1);
  });

  it("takes the policy-only kind by its old name ppo too, and stores it as policy", async () => {
    await closeOpenRuns();
    const run = await callJson("POST", "/v1/training-runs", 201, { json: { kind: "ppo" } });
    expect(run).toMatchObject({ status: "requested", kind: "policy" });
    await closeOpenRuns();
    expect(await callJson("POST", "/v1/training-runs", 201, { json: { kind: "policy" } })).toMatchObject({ kind: "policy" });
    await closeOpenRuns();
  });

  it("refuses malformed requests and unknown runs", async () => {
    await expectNothingStored(async () => {
      await expectError(await call("POST", "/v1/training-runs", { json: { kind: "dpo" } }), 400, "invalid_request");
      await expectError(await call("POST", "/v1/training-runs", { as: "bot", json: {} }), 403, "forbidden");
      await expectError(await call("POST", "/v1/training-runs/claim", { as: "trainer", json: {} }), 400, "invalid_request");
      await expectError(await call("PATCH", "/v1/training-runs/999999", { as: "trainer", json: { status: "running" } }), 404, "not_found");
      await expectError(await call("PATCH", "/v1/training-runs/1", { as: "trainer", json: { status: "exploded" } }), 400, "invalid_request");
      await expectError(await call("GET", "/v1/training-runs?status=odd", { as: "bot" }), 400, "invalid_request");
    });
  });
});
