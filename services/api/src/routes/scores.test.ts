import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, callJson, expectError, expectNothingStored, promptWithCompletions, rater } from "../../test/helpers.ts";

describe("scores", () => {
  it("stores a score and answers a retry with the first row, storing nothing twice", async () => {
    const raterId = await rater();
    const { completionIds } = await promptWithCompletions(1);
    const json = { raterId, completionId: completionIds[0], value: 0.75, source: "telegram" };
    const first = await callJson("POST", "/v1/scores", 201, { as: "bot", json });
    expect(first).toMatchObject({ created: true, score: { raterId, completionId: completionIds[0], value: 0.75 } });
    const retry = await callJson("POST", "/v1/scores", 200, { as: "bot", json });
    expect(retry).toEqual({ created: false, score: first.score });
    const { n } = (await env.DB.prepare("SELECT count(*) AS n FROM scores WHERE rater_id = ?").bind(raterId).first<{ n: number }>())!;
    expect(n).toBe(1);
  });

  it("stores one row when the same submission arrives twice at once (a double tap)", async () => {
    const raterId = await rater();
    const { completionIds } = await promptWithCompletions(1);
    const json = { raterId, completionId: completionIds[0], value: 1, source: "telegram" };
    const [a, b] = await Promise.all([call("POST", "/v1/scores", { as: "bot", json }), call("POST", "/v1/scores", { as: "bot", json })]);
    expect([a.status, b.status].sort()).toEqual([200, 201]);
    const { n } = (await env.DB.prepare("SELECT count(*) AS n FROM scores WHERE rater_id = ?").bind(raterId).first<{ n: number }>())!;
    expect(n).toBe(1);
  });

  it("answers 409 when a scored completion is scored differently, keeping the first value", async () => {
    const raterId = await rater();
    const { completionIds } = await promptWithCompletions(1);
    await callJson("POST", "/v1/scores", 201, { as: "bot", json: { raterId, completionId: completionIds[0], value: 0.25, source: "web" } });
    await expectNothingStored(async () => {
      await expectError(
        await call("POST", "/v1/scores", { as: "bot", json: { raterId, completionId: completionIds[0], value: 1, source: "web" } }),
        409,
        "conflict",
      );
    });
    const list = await callJson("GET", `/v1/scores?raterId=${raterId}`, 200, { as: "bot" });
    expect(list.items.map((s: { value: number }) => s.value)).toEqual([0.25]);
  });

  it("refuses malformed input and unknown ids, storing nothing", async () => {
    const raterId = await rater();
    const { completionIds } = await promptWithCompletions(1);
    const good = { raterId, completionId: completionIds[0]!, value: 0.5, source: "telegram" };
    await expectNothingStored(async () => {
      for (const json of [
        {},
        { ...good, value: 1.5 },
        { ...good, value: -0.1 },
        { ...good, value: "0.5" },
        { ...good, source: "carrier-pigeon" },
        { ...good, raterId: undefined },
        { ...good, extra: true },
      ]) {
        await expectError(await call("POST", "/v1/scores", { as: "bot", json }), 400, "invalid_request");
      }
      await expectError(await call("POST", "/v1/scores", { as: "bot", json: { ...good, completionId: 999999 } }), 404, "not_found");
      await expectError(await call("POST", "/v1/scores", { as: "bot", json: { ...good, raterId: 999999 } }), 404, "not_found");
      await expectError(
        await call("POST", "/v1/scores", { as: "bot", body: "value=1", headers: { "content-type": "application/json" } }),
        400,
        "malformed_json",
      );
    });
  });

  it("refuses a trainer (scores come from raters through the bot or web page) and a missing token", async () => {
    const raterId = await rater();
    const { completionIds } = await promptWithCompletions(1);
    const json = { raterId, completionId: completionIds[0], value: 0.5, source: "telegram" };
    await expectNothingStored(async () => {
      await expectError(await call("POST", "/v1/scores", { as: "trainer", json }), 403, "forbidden");
      await expectError(await call("POST", "/v1/scores", { as: null, json }), 401, "unauthorized");
    });
  });
});
