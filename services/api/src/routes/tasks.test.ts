import { describe, expect, it } from "vitest";
import { call, callJson, expectError, promptWithCompletions, rater } from "../../test/helpers.ts";

// Each test file has its own D1, but tests in a file share it; these tests only
// assert about the fixtures they create or about "nothing left".
describe("next task", () => {
  it("gives a rater each completion to score once, then nothing", async () => {
    const raterId = await rater();
    const { completionIds } = await promptWithCompletions(3);
    const seen: number[] = [];
    for (;;) {
      const { task } = await callJson("GET", `/v1/tasks/next?raterId=${raterId}&kind=score`, 200, { as: "bot" });
      if (!task) break;
      expect(task.kind).toBe("score");
      expect(seen).not.toContain(task.completion.id);
      seen.push(task.completion.id);
      await callJson("POST", "/v1/scores", 201, { as: "bot", json: { raterId, completionId: task.completion.id, value: 0.5, source: "telegram" } });
    }
    expect(seen).toEqual(expect.arrayContaining(completionIds));
  });

  it("spreads work: a second rater is first offered what nobody has scored", async () => {
    const [alice, bob] = [await rater(), await rater()];
    // Alice scores everything that exists so far, so only the new prompt's completions are unscored.
    for (;;) {
      const { task } = await callJson("GET", `/v1/tasks/next?raterId=${alice}&kind=score`, 200, { as: "bot" });
      if (!task) break;
      await callJson("POST", "/v1/scores", 201, { as: "bot", json: { raterId: alice, completionId: task.completion.id, value: 1, source: "web" } });
    }
    const fresh = await promptWithCompletions(2);
    const { task } = await callJson("GET", `/v1/tasks/next?raterId=${bob}&kind=score`, 200, { as: "bot" });
    expect(fresh.completionIds).toContain(task.completion.id);
  });

  it("groups 4 completions of one prompt for ranking and never repeats a group for a rater", async () => {
    const raterId = await rater();
    const { promptId, completionIds } = await promptWithCompletions(4);
    const groups: string[] = [];
    for (;;) {
      const { task } = await callJson("GET", `/v1/tasks/next?raterId=${raterId}&kind=rank`, 200, { as: "bot" });
      if (!task) break;
      expect(task.kind).toBe("rank");
      expect(task.completions).toHaveLength(4);
      const ids = task.completions.map((c: { id: number }) => c.id);
      const key = [...ids].sort((a, b) => a - b).join(",");
      expect(groups).not.toContain(key);
      groups.push(key);
      await callJson("POST", "/v1/rankings", 201, { as: "bot", json: { raterId, promptId: task.prompt.id, completionIds: ids, source: "telegram" } });
    }
    expect(groups).toContain([...completionIds].sort((a, b) => a - b).join(","));
    void promptId;
  });

  it("offers no rank task for a prompt with fewer than 4 completions", async () => {
    const raterId = await rater();
    // Rank everything there is first, then add a prompt with only 3 completions.
    for (;;) {
      const { task } = await callJson("GET", `/v1/tasks/next?raterId=${raterId}&kind=rank`, 200, { as: "bot" });
      if (!task) break;
      await callJson("POST", "/v1/rankings", 201, {
        as: "bot",
        json: { raterId, promptId: task.prompt.id, completionIds: task.completions.map((c: { id: number }) => c.id), source: "web" },
      });
    }
    await promptWithCompletions(3);
    expect((await callJson("GET", `/v1/tasks/next?raterId=${raterId}&kind=rank`, 200, { as: "bot" })).task).toBeNull();
  });

  it("does not offer completions the rater skipped (exclude)", async () => {
    const raterId = await rater();
    // Score everything older, so only the new prompt's two completions are left.
    for (;;) {
      const { task } = await callJson("GET", `/v1/tasks/next?raterId=${raterId}&kind=score`, 200, { as: "bot" });
      if (!task) break;
      await callJson("POST", "/v1/scores", 201, { as: "bot", json: { raterId, completionId: task.completion.id, value: 0.5, source: "telegram" } });
    }
    const { completionIds } = await promptWithCompletions(2);
    const { task } = await callJson("GET", `/v1/tasks/next?raterId=${raterId}&kind=score&exclude=${completionIds[0]}`, 200, { as: "bot" });
    expect(task.completion.id).toBe(completionIds[1]);
    const none = await callJson("GET", `/v1/tasks/next?raterId=${raterId}&kind=score&exclude=${completionIds.join(",")}`, 200, { as: "bot" });
    expect(none.task).toBeNull();
    await expectError(await call("GET", `/v1/tasks/next?raterId=${raterId}&exclude=1,,2`, { as: "bot" }), 400, "invalid_request");
  });

  it("refuses bad queries and unknown raters", async () => {
    await expectError(await call("GET", "/v1/tasks/next", { as: "bot" }), 400, "invalid_request");
    await expectError(await call("GET", "/v1/tasks/next?raterId=1&kind=dance", { as: "bot" }), 400, "invalid_request");
    await expectError(await call("GET", "/v1/tasks/next?raterId=999999", { as: "bot" }), 404, "not_found");
    await expectError(await call("GET", "/v1/tasks/next?raterId=1", { as: "trainer" }), 403, "forbidden");
  });
});
