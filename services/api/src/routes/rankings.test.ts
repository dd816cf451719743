import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, callJson, expectError, expectNothingStored, promptWithCompletions, rater } from "../../test/helpers.ts";

describe("rankings", () => {
  it("stores a rank list best first and reads it back in that order", async () => {
    const raterId = await rater();
    const { promptId, completionIds } = await promptWithCompletions(4);
    const order = [completionIds[2]!, completionIds[0]!, completionIds[3]!, completionIds[1]!];
    const body = await callJson("POST", "/v1/rankings", 201, { as: "bot", json: { raterId, promptId, completionIds: order, source: "telegram" } });
    expect(body.created).toBe(true);
    expect(body.ranking.completions.map((c: { id: number }) => c.id)).toEqual(order);
    const rows = await env.DB.prepare("SELECT completion_id FROM ranking_items WHERE ranking_id = ? ORDER BY position")
      .bind(body.ranking.id)
      .all<{ completion_id: number }>();
    expect(rows.results.map((r) => r.completion_id)).toEqual(order);
    const one = await callJson("GET", `/v1/rankings/${body.ranking.id}`, 200, { as: "bot" });
    expect(one.completions.map((c: { id: number }) => c.id)).toEqual(order);
  });

  it("answers a retry with the first ranking, a different order with 409, and stores one", async () => {
    const raterId = await rater();
    const { promptId, completionIds } = await promptWithCompletions(4);
    const json = { raterId, promptId, completionIds, source: "web" };
    const [a, b] = await Promise.all([call("POST", "/v1/rankings", { as: "bot", json }), call("POST", "/v1/rankings", { as: "bot", json })]);
    expect([a.status, b.status].sort()).toEqual([200, 201]);
    await expectNothingStored(async () => {
      await callJson("POST", "/v1/rankings", 200, { as: "bot", json });
      await expectError(await call("POST", "/v1/rankings", { as: "bot", json: { ...json, completionIds: [...completionIds].reverse() } }), 409, "conflict");
    });
    const { n } = (await env.DB.prepare("SELECT count(*) AS n FROM rankings WHERE rater_id = ?").bind(raterId).first<{ n: number }>())!;
    expect(n).toBe(1);
  });

  it("stores ties as levels, in one canonical order, and answers a retry given in another order of the tie", async () => {
    const raterId = await rater();
    const { promptId, completionIds } = await promptWithCompletions(4);
    const [a, b, c, d] = completionIds as [number, number, number, number];
    // d is best; c and a are equally good; b is worst. The tie is stored in id order.
    const body = await callJson("POST", "/v1/rankings", 201, {
      as: "bot",
      json: { raterId, promptId, completionIds: [d, c, a, b], levels: [0, 1, 1, 2], source: "telegram" },
    });
    expect(body.ranking.completions.map((x: { id: number; level: number }) => [x.id, x.level])).toEqual([
      [d, 0],
      [a, 1],
      [c, 1],
      [b, 2],
    ]);
    await expectNothingStored(async () => {
      const again = await callJson("POST", "/v1/rankings", 200, {
        as: "bot",
        json: { raterId, promptId, completionIds: [d, a, c, b], levels: [0, 1, 1, 2], source: "telegram" },
      });
      expect(again.created).toBe(false);
      // The same order without the tie is another judgement: a conflict that names both.
      const error = await expectError(
        await call("POST", "/v1/rankings", { as: "bot", json: { raterId, promptId, completionIds: [d, a, c, b], source: "telegram" } }),
        409,
        "conflict",
      );
      expect(error.message).toContain(`${d} > ${a} = ${c} > ${b}`);
    });
    const rows = await env.DB.prepare("SELECT completion_id, level FROM ranking_items WHERE ranking_id = ? ORDER BY position")
      .bind(body.ranking.id)
      .all<{ completion_id: number; level: number }>();
    expect(rows.results.map((r) => r.level)).toEqual([0, 1, 1, 2]);
  });

  it("refuses levels that are not dense ranks or do not match the ids, storing nothing", async () => {
    const raterId = await rater();
    const { promptId, completionIds } = await promptWithCompletions(3);
    await expectNothingStored(async () => {
      for (const levels of [
        [1, 1, 2],
        [0, 2, 3],
        [0, 1, 0],
        [0, 1],
        [0, -1, 0],
        [0, 0.5, 1],
        ["0", "1", "2"],
      ]) {
        await expectError(
          await call("POST", "/v1/rankings", { as: "bot", json: { raterId, promptId, completionIds, levels, source: "web" } }),
          400,
          "invalid_request",
        );
      }
    });
    // All tied is a judgement too ("equally good"); it just makes no preference pair.
    await callJson("POST", "/v1/rankings", 201, { as: "bot", json: { raterId, promptId, completionIds, levels: [0, 0, 0], source: "web" } });
  });

  it("refuses completions of another prompt, in code and in the schema itself", async () => {
    const raterId = await rater();
    const mine = await promptWithCompletions(2);
    const other = await promptWithCompletions(2);
    await expectNothingStored(async () => {
      const error = await expectError(
        await call("POST", "/v1/rankings", {
          as: "bot",
          json: { raterId, promptId: mine.promptId, completionIds: [mine.completionIds[0], other.completionIds[0]], source: "web" },
        }),
        400,
        "invalid_request",
      );
      expect(error.message).toContain(String(other.completionIds[0]));
    });
    // Bypassing the API: the composite foreign key still refuses the row.
    await env.DB.prepare("INSERT INTO rankings (rater_id, prompt_id, completion_set, source, created_at) VALUES (?, ?, 'x', 'web', 0)")
      .bind(raterId, mine.promptId)
      .run();
    const { id } = (await env.DB.prepare("SELECT id FROM rankings WHERE completion_set = 'x'").first<{ id: number }>())!;
    await expect(
      env.DB.prepare("INSERT INTO ranking_items (ranking_id, position, level, prompt_id, completion_id) VALUES (?, 0, 0, ?, ?)")
        .bind(id, mine.promptId, other.completionIds[0]!)
        .run(),
    ).rejects.toThrow(/FOREIGN KEY/);
  });

  it("refuses malformed rank lists and unknown ids, storing nothing", async () => {
    const raterId = await rater();
    const { promptId, completionIds } = await promptWithCompletions(4);
    const good = { raterId, promptId, completionIds, source: "telegram" };
    await expectNothingStored(async () => {
      for (const json of [
        {},
        { ...good, completionIds: [completionIds[0]] },
        { ...good, completionIds: [completionIds[0], completionIds[0]] },
        { ...good, completionIds: Array.from({ length: 17 }, (_, i) => i + 1) },
        { ...good, completionIds: "1,2" },
        { ...good, promptId: 0 },
      ]) {
        await expectError(await call("POST", "/v1/rankings", { as: "bot", json }), 400, "invalid_request");
      }
      await expectError(await call("POST", "/v1/rankings", { as: "bot", json: { ...good, completionIds: [completionIds[0], 999999] } }), 404, "not_found");
      await expectError(await call("POST", "/v1/rankings", { as: "bot", json: { ...good, promptId: 999999 } }), 404, "not_found");
      await expectError(await call("GET", "/v1/rankings/999999", { as: "bot" }), 404, "not_found");
    });
  });

  it("lists rank lists newest first, filterable by rater", async () => {
    const raterId = await rater();
    const a = await promptWithCompletions(2);
    const b = await promptWithCompletions(2);
    await callJson("POST", "/v1/rankings", 201, { as: "bot", json: { raterId, promptId: a.promptId, completionIds: a.completionIds, source: "web" } });
    await callJson("POST", "/v1/rankings", 201, { as: "bot", json: { raterId, promptId: b.promptId, completionIds: b.completionIds, source: "web" } });
    const list = await callJson("GET", `/v1/rankings?raterId=${raterId}`, 200, { as: "bot" });
    expect(list.items.map((r: { promptId: number }) => r.promptId)).toEqual([b.promptId, a.promptId]);
    expect(list.items[0].prompt).toMatch(/^刚收到货/);
  });
});
