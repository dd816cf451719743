import { describe, expect, it } from "vitest";
import { call, callJson, expectError, expectNothingStored } from "../../test/helpers.ts";

describe("raters", () => {
  it("registers once per external id and finds the rater again", async () => {
    const first = await callJson("POST", "/v1/raters", 201, { as: "bot", json: { externalId: "tg:1001", displayName: "小王" } });
    const again = await callJson("POST", "/v1/raters", 200, { as: "bot", json: { externalId: "tg:1001" } });
    expect(again.id).toBe(first.id);
    const found = await callJson("GET", "/v1/raters/by-external/tg:1001", 200, { as: "bot" });
    expect(found).toMatchObject({ id: first.id, displayName: "小王", role: "rater", blocked: false });
  });

  it("lets an admin block a rater, after which their labels are refused", async () => {
    const { id } = await callJson("POST", "/v1/raters", 201, { as: "bot", json: { externalId: "web:blocked_one" } });
    await callJson("PATCH", `/v1/raters/${id}`, 200, { json: { blocked: true } });
    const tasks = await call("GET", `/v1/tasks/next?raterId=${id}`, { as: "bot" });
    await expectError(tasks, 403, "forbidden");
  });

  it("refuses ids that do not say who vouches for them, and malformed bodies", async () => {
    await expectNothingStored(async () => {
      for (const json of [{}, { externalId: "1001" }, { externalId: "tg:" }, { externalId: "tg:a b" }, { externalId: 5 }, { externalId: "tg:1", role: "admin" }]) {
        await expectError(await call("POST", "/v1/raters", { as: "bot", json }), 400, "invalid_request");
      }
      await expectError(await call("GET", "/v1/raters/by-external/tg:424242", { as: "bot" }), 404, "not_found");
      await expectError(await call("PATCH", "/v1/raters/424242", { json: { blocked: true } }), 404, "not_found");
    });
  });

  it("keeps the rater list and edits to admins", async () => {
    await expectError(await call("GET", "/v1/raters", { as: "bot" }), 403, "forbidden");
    await expectError(await call("PATCH", "/v1/raters/1", { as: "bot", json: { role: "admin" } }), 403, "forbidden");
    const list = await callJson("GET", "/v1/raters", 200);
    expect(Array.isArray(list.items)).toBe(true);
  });
});
