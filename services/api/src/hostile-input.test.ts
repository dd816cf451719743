/**
 * What a probe of a running instance with hostile input found (issue 11), one test a
 * finding: stored JSON nested 100,000 deep, PATCH with nothing to change, ids that are
 * not integers, and lone surrogates. Each refused write stores nothing, and the list
 * and get routes still answer afterwards.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, callJson, expectError, expectNothingStored, nestedJson, promptWithCompletions, rater, uniqueText } from "../test/helpers.ts";

const json = (body: string) => ({ body, headers: { "content-type": "application/json" } });
const sha = (n: number) => n.toString(16).padStart(64, "0");

/** The list and get routes a stored row would break: all must answer 200. */
async function readsStillWork(ids: { checkpoint?: number; run?: number; prompt?: number } = {}) {
  for (const path of ["/v1/checkpoints", "/v1/training-runs", "/v1/prompts", "/v1/completions", "/v1/scores", "/v1/rankings", "/v1/raters", "/v1/stats"]) {
    expect(`${path} ${(await call("GET", path)).status}`).toBe(`${path} 200`);
  }
  if (ids.checkpoint) await callJson("GET", `/v1/checkpoints/${ids.checkpoint}`, 200);
  if (ids.run) await callJson("GET", `/v1/training-runs/${ids.run}`, 200);
  if (ids.prompt) await callJson("GET", `/v1/prompts/${ids.prompt}`, 200);
}

describe("stored JSON is bounded before anything is written", () => {
  it("refuses a checkpoint config nested 100,000 levels (or 17) deep or over 64 KiB, storing nothing", async () => {
    const before = (await callJson("GET", "/v1/checkpoints", 200)).items.length;
    await expectNothingStored(async () => {
      for (const config of [nestedJson(100_000), nestedJson(17), JSON.stringify({ big: "x".repeat(70_000) })]) {
        const body = `{"kind":"reward","sha256":"${sha(1)}","sizeBytes":10,"config":${config}}`;
        await expectError(await call("POST", "/v1/checkpoints", { as: "trainer", ...json(body) }), 400, "invalid_request");
      }
      const metrics = JSON.stringify(Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`m${i}`, i])));
      await expectError(
        await call("POST", "/v1/checkpoints", { as: "trainer", ...json(`{"kind":"reward","sha256":"${sha(2)}","sizeBytes":10,"metrics":${metrics}}`) }),
        400,
        "invalid_request",
      );
      await expectError(
        await call("POST", "/v1/checkpoints", { as: "trainer", ...json(`{"kind":"reward","sha256":"${sha(3)}","sizeBytes":10,"metrics":{"loss":1e999}}`) }),
        400,
        "invalid_request",
      );
    });
    expect((await callJson("GET", "/v1/checkpoints", 200)).items.length).toBe(before);
    // 16 levels is accepted, stored, and read back whole.
    const ok = await callJson("POST", "/v1/checkpoints", 201, {
      as: "trainer",
      ...json(`{"kind":"reward","sha256":"${sha(4)}","sizeBytes":10,"config":${nestedJson(15)}}`),
    });
    expect(JSON.stringify((await callJson("GET", `/v1/checkpoints/${ok.id}`, 200)).config)).toBe(nestedJson(15));
    await readsStillWork({ checkpoint: ok.id });
  });

  it("refuses run metrics that are too many, deep or not finite, changing nothing", async () => {
    await env.DB.prepare("UPDATE training_runs SET status = 'cancelled' WHERE status IN ('requested', 'running')").run();
    const run = await callJson("POST", "/v1/training-runs", 201, { json: { kind: "reward" } });
    await callJson("POST", "/v1/training-runs/claim", 200, { as: "trainer", json: { trainer: "gpu" } });
    await expectNothingStored(async () => {
      const many = JSON.stringify(Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`m${i}`, i])));
      for (const metrics of [many, `{"a":${nestedJson(3)}}`, '{"loss":1e999}', '{"\\ud800":1}']) {
        await expectError(
          await call("PATCH", `/v1/training-runs/${run.id}`, { as: "trainer", ...json(`{"status":"succeeded","metrics":${metrics}}`) }),
          400,
          "invalid_request",
        );
      }
      await expectError(
        await call("PATCH", `/v1/training-runs/${run.id}`, { as: "trainer", json: { status: "succeeded", summary: "ok\ud800" } }),
        400,
        "invalid_request",
      );
    });
    expect(await callJson("GET", `/v1/training-runs/${run.id}`, 200)).toMatchObject({ status: "running", metrics: {}, summary: null });
    await readsStillWork({ run: run.id });
  });

  it("refuses a bot session nested too deep, with a lone surrogate or null, storing nothing", async () => {
    await expectNothingStored(async () => {
      // null was a 500 (the column is NOT NULL); the fuzzer found it.
      for (const value of [nestedJson(100_000), nestedJson(17), '{"picked":"\\udc00"}', '{"\\ud800":1}', "null"]) {
        await expectError(await call("PUT", "/v1/bot-sessions/7:7", { as: "bot", ...json(`{"value":${value}}`) }), 400, "invalid_request");
      }
    });
    await expectError(await call("GET", "/v1/bot-sessions/7:7", { as: "bot" }), 404, "not_found");
  });
});

describe("PATCH with nothing to change", () => {
  it("answers 400, not 500, for a rater, a prompt and a run", async () => {
    const id = await rater();
    const { promptId } = await promptWithCompletions(1);
    await expectNothingStored(async () => {
      await expectError(await call("PATCH", `/v1/raters/${id}`, { json: {} }), 400, "invalid_request");
      await expectError(await call("PATCH", `/v1/prompts/${promptId}`, { json: {} }), 400, "invalid_request");
      await expectError(await call("PATCH", "/v1/training-runs/1", { as: "trainer", json: {} }), 400, "invalid_request");
    });
  });
});

describe("ids", () => {
  it('are JSON integers in bodies: true, "1", ["1"], "0x1", "1e0", 1.5 are refused', async () => {
    const raterId = await rater();
    const { promptId, completionIds } = await promptWithCompletions(2);
    const [c0, c1] = completionIds as [number, number];
    await expectNothingStored(async () => {
      for (const bad of [true, String(raterId), [String(raterId)], "0x1", "1e0", 1.5, 0, -1, null, 2 ** 53]) {
        await expectError(
          await call("POST", "/v1/scores", { as: "bot", json: { raterId: bad, completionId: c0, value: 1, source: "telegram" } }),
          400,
          "invalid_request",
        );
        await expectError(
          await call("POST", "/v1/scores", { as: "bot", json: { raterId, completionId: bad, value: 1, source: "telegram" } }),
          400,
          "invalid_request",
        );
        await expectError(
          await call("POST", "/v1/rankings", { as: "bot", json: { raterId, promptId: bad, completionIds: [c0, c1], source: "telegram" } }),
          400,
          "invalid_request",
        );
        await expectError(
          await call("POST", "/v1/rankings", { as: "bot", json: { raterId, promptId, completionIds: [bad, c1], source: "telegram" } }),
          400,
          "invalid_request",
        );
        await expectError(
          await call("POST", "/v1/completions", { as: "trainer", json: { completions: [{ promptId: bad, text: "x" }] } }),
          400,
          "invalid_request",
        );
      }
    });
    await callJson("POST", "/v1/scores", 201, { as: "bot", json: { raterId, completionId: c0, value: 1, source: "telegram" } });
  });

  it("are decimal digits in paths and queries: 0x0d, 1e0, 013, +13 and -1 are refused", async () => {
    const { promptId } = await promptWithCompletions(1);
    await callJson("GET", `/v1/prompts/${promptId}`, 200);
    for (const bad of [
      `0x${promptId.toString(16)}`,
      `${promptId}e0`,
      `0${promptId}`,
      `+${promptId}`,
      `${promptId}.0`,
      "-1",
      "0",
      "1%20",
      "99999999999999999999",
    ]) {
      await expectError(await call("GET", `/v1/prompts/${bad}`), 400, "invalid_request");
      await expectError(await call("GET", `/v1/completions?promptId=${bad}`), 400, "invalid_request");
      await expectError(await call("GET", `/v1/prompts?cursor=${bad}`), 400, "invalid_request");
    }
    for (const bad of ["1e1", "0x10", "010", "", "5&limit=6"]) {
      await expectError(await call("GET", `/v1/prompts?limit=${bad}`), 400, "invalid_request");
    }
    await expectError(await call("GET", `/v1/tasks/next?raterId=1&exclude=1,0x2`, { as: "bot" }), 400, "invalid_request");
  });
});

describe("text is well-formed Unicode", () => {
  it("refuses a lone surrogate with 400 wherever text enters, and keeps a real pair intact", async () => {
    const raterId = await rater();
    const { promptId } = await promptWithCompletions(1);
    const lone = "a\ud800b";
    await expectNothingStored(async () => {
      await expectError(await call("POST", "/v1/prompts", { json: { prompts: [{ text: uniqueText(lone) }] } }), 400, "invalid_request");
      await expectError(await call("POST", "/v1/prompts", { json: { prompts: [{ text: uniqueText("ok"), source: "\udfff" }] } }), 400, "invalid_request");
      await expectError(await call("POST", "/v1/raters", { as: "bot", json: { externalId: "tg:surrogate", displayName: lone } }), 400, "invalid_request");
      await expectError(await call("POST", `/v1/raters/${raterId}/web-logins`, { json: { label: lone } }), 400, "invalid_request");
      await expectError(await call("POST", "/v1/leases", { as: "trainer", json: { holder: lone } }), 400, "invalid_request");
      await expectError(await call("POST", "/v1/training-runs/claim", { as: "trainer", json: { trainer: lone } }), 400, "invalid_request");
      await expectError(await call("POST", "/v1/score", { json: { texts: [lone] } }), 400, "invalid_request");
      await expectError(await call("POST", "/v1/completions", { as: "trainer", json: { completions: [{ promptId, text: lone }] } }), 400, "invalid_request");
      await expectError(
        await call("POST", "/v1/completions", { as: "trainer", json: { generation: { [lone]: 1 }, completions: [{ promptId, text: "x" }] } }),
        400,
        "invalid_request",
      );
    });
    const text = uniqueText("表情\u{1F600}");
    const { prompts } = await callJson("POST", "/v1/prompts", 201, { json: { prompts: [{ text }] } });
    expect((await callJson("GET", `/v1/prompts/${prompts[0].id}`, 200)).text).toBe(text);
  });
});
