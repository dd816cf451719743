import { describe, expect, it } from "vitest";
import { call, callJson, expectError, expectNothingStored, promptWithCompletions } from "../../test/helpers.ts";

describe("gold groups", () => {
  it("stores an admin's known order with ties, lists it for the trainer, and deletes it", async () => {
    const { promptId, completionIds: ids } = await promptWithCompletions(4);
    const [c0, c1, c2, c3] = ids as [number, number, number, number];
    const order = [c2, c0, c3, c1];
    const first = await callJson("POST", "/v1/gold-groups", 201, { json: { promptId, completionIds: order, levels: [0, 1, 1, 2] } });
    expect(first.created).toBe(true);
    // Ties are stored in id order, as rankings are.
    const tied = [c0, c3].sort((a, b) => a - b);
    expect(first.goldGroup).toMatchObject({
      promptId,
      completions: [
        { id: c2, level: 0 },
        { id: tied[0], level: 1 },
        { id: tied[1], level: 1 },
        { id: c1, level: 2 },
      ],
    });
    expect(first.goldGroup.completions[0].text).toEqual(expect.any(String));
    // The same order again (its ties given the other way round) is a retry; another order is a conflict.
    const again = await callJson("POST", "/v1/gold-groups", 200, { json: { promptId, completionIds: [c2, c3, c0, c1], levels: [0, 1, 1, 2] } });
    expect(again).toMatchObject({ created: false, goldGroup: { id: first.goldGroup.id } });
    await expectNothingStored(async () => {
      await expectError(await call("POST", "/v1/gold-groups", { json: { promptId, completionIds: [c1, c0, c2, c3] } }), 409, "conflict");
    });

    const list = await callJson("GET", "/v1/gold-groups", 200, { as: "trainer" });
    expect(list.items).toContainEqual(first.goldGroup);
    expect(await callJson("GET", `/v1/gold-groups/${first.goldGroup.id}`, 200, { as: "trainer" })).toEqual(first.goldGroup);
    const page = await callJson("GET", "/v1/gold-groups?limit=1", 200);
    expect(page.items).toHaveLength(1);

    expect(await callJson("DELETE", `/v1/gold-groups/${first.goldGroup.id}`, 200)).toEqual({ deleted: first.goldGroup.id });
    await expectError(await call("GET", `/v1/gold-groups/${first.goldGroup.id}`), 404, "not_found");
    await expectError(await call("DELETE", `/v1/gold-groups/${first.goldGroup.id}`), 404, "not_found");
    // Once deleted, the set can be marked with another order.
    await callJson("POST", "/v1/gold-groups", 201, { json: { promptId, completionIds: [c1, c0, c2, c3] } });
  });

  it("refuses bad gold orders with a clear 400 or 404 and stores nothing", async () => {
    const { promptId, completionIds: ids } = await promptWithCompletions(4);
    const other = await promptWithCompletions(2);
    const [c0, c1, c2] = ids as [number, number, number];
    await expectNothingStored(async () => {
      for (const json of [
        {},
        { promptId },
        { promptId, completionIds: [c0] },
        { promptId, completionIds: [c0, c0] },
        { promptId, completionIds: [c0, c1], levels: [0, 0] },
        { promptId, completionIds: [c0, c1], levels: [0, 2] },
        { promptId, completionIds: [c0, c1, c2], levels: [0, 1] },
        { promptId: "1", completionIds: [c0, c1] },
        { promptId, completionIds: [c0, c1], raterId: 1 },
      ]) {
        await expectError(await call("POST", "/v1/gold-groups", { json }), 400, "invalid_request");
      }
      const foreign = await expectError(
        await call("POST", "/v1/gold-groups", { json: { promptId, completionIds: [c0, other.completionIds[0]] } }),
        400,
        "invalid_request",
      );
      expect(foreign.message).toContain("another prompt");
      await expectError(await call("POST", "/v1/gold-groups", { json: { promptId, completionIds: [c0, 999999] } }), 404, "not_found");
      await expectError(await call("POST", "/v1/gold-groups", { json: { promptId: 999999, completionIds: [c0, c1] } }), 404, "not_found");
      await expectError(await call("GET", "/v1/gold-groups?limit=0"), 400, "invalid_request");
      await expectError(await call("DELETE", "/v1/gold-groups/abc"), 400, "invalid_request");
    });
  });

  it("lets only admins mark and unmark gold, and the trainer read it", async () => {
    const { promptId, completionIds: ids } = await promptWithCompletions(2);
    await expectNothingStored(async () => {
      for (const as of ["bot", "trainer"] as const) {
        await expectError(await call("POST", "/v1/gold-groups", { as, json: { promptId, completionIds: ids } }), 403, "forbidden");
      }
      await expectError(await call("GET", "/v1/gold-groups", { as: "bot" }), 403, "forbidden");
      await expectError(await call("POST", "/v1/gold-groups", { as: null, json: { promptId, completionIds: ids } }), 401, "unauthorized");
    });
    const made = await callJson("POST", "/v1/gold-groups", 201, { json: { promptId, completionIds: ids } });
    await expectError(await call("DELETE", `/v1/gold-groups/${made.goldGroup.id}`, { as: "trainer" }), 403, "forbidden");
  });
});
