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
      for (const json of [
        {},
        { externalId: "1001" },
        { externalId: "tg:" },
        { externalId: "tg:a b" },
        { externalId: 5 },
        { externalId: "tg:1", role: "admin" },
      ]) {
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

  it("lets an admin rater block and unblock another through the bot, and no one else", async () => {
    const admin = (await callJson("POST", "/v1/raters", 201, { as: "bot", json: { externalId: "tg:5001" } })).id;
    await callJson("PATCH", `/v1/raters/${admin}`, 200, { json: { role: "admin" } });
    const plain = (await callJson("POST", "/v1/raters", 201, { as: "bot", json: { externalId: "tg:5002" } })).id;
    const target = (await callJson("POST", "/v1/raters", 201, { as: "bot", json: { externalId: "tg:5003" } })).id;
    const blocked = await callJson("PUT", `/v1/raters/${target}/blocked`, 200, { as: "bot", json: { blocked: true, byRaterId: admin } });
    expect(blocked).toMatchObject({ id: target, blocked: true });
    await expectError(await call("GET", `/v1/tasks/next?raterId=${target}`, { as: "bot" }), 403, "forbidden");
    expect(await callJson("PUT", `/v1/raters/${target}/blocked`, 200, { as: "bot", json: { blocked: false, byRaterId: admin } })).toMatchObject({
      blocked: false,
    });

    await expectNothingStored(async () => {
      const before = await callJson("GET", "/v1/raters/by-external/tg:5003", 200, { as: "bot" });
      await expectError(await call("PUT", `/v1/raters/${target}/blocked`, { as: "bot", json: { blocked: true, byRaterId: plain } }), 403, "forbidden");
      await expectError(await call("PUT", `/v1/raters/${admin}/blocked`, { as: "bot", json: { blocked: true, byRaterId: admin } }), 409, "conflict");
      await expectError(await call("PUT", `/v1/raters/${target}/blocked`, { as: "bot", json: { blocked: true, byRaterId: 424242 } }), 404, "not_found");
      await expectError(await call("PUT", `/v1/raters/424242/blocked`, { as: "bot", json: { blocked: true, byRaterId: admin } }), 404, "not_found");
      for (const json of [{}, { blocked: true }, { blocked: "yes", byRaterId: admin }, { blocked: true, byRaterId: admin, role: "admin" }]) {
        await expectError(await call("PUT", `/v1/raters/${target}/blocked`, { as: "bot", json }), 400, "invalid_request");
      }
      await expectError(await call("PUT", `/v1/raters/${target}/blocked`, { as: "trainer", json: { blocked: true, byRaterId: admin } }), 403, "forbidden");
      expect(await callJson("GET", "/v1/raters/by-external/tg:5003", 200, { as: "bot" })).toEqual(before);
    });
  });
});
