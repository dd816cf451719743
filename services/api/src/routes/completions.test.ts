import { describe, expect, it } from "vitest";
import { call, callJson, expectError, expectNothingStored, promptWithCompletions, uniqueText } from "../../test/helpers.ts";

describe("completions", () => {
  it("creates in bulk with the generation settings, and lists them by prompt", async () => {
    const { prompts } = await callJson("POST", "/v1/prompts", 201, { json: { prompts: [{ text: uniqueText("刚收到货，感觉有") }] } });
    const promptId = prompts[0].id;
    const body = await callJson("POST", "/v1/completions", 201, {
      as: "trainer",
      json: {
        generation: { temperature: 1, top_k: 50, top_p: 0.95, max_new_tokens: 40 },
        completions: [
          { promptId, text: "很好的质量，推荐购买" },
          { promptId, text: "一般般吧", generation: { seed: 7 } },
        ],
      },
    });
    expect(body.completions).toHaveLength(2);
    expect(body.completions[1].generation).toEqual({ temperature: 1, top_k: 50, top_p: 0.95, max_new_tokens: 40, seed: 7 });
    expect(body.completions[0].checkpointId).toBeNull();

    const listed = await callJson("GET", `/v1/completions?promptId=${promptId}`, 200, { as: "bot" });
    expect(listed.items.map((c: { text: string }) => c.text)).toEqual(["一般般吧", "很好的质量，推荐购买"]);
  });

  it("is all or nothing: one unknown prompt id refuses the batch with 404 naming it", async () => {
    const { promptId } = await promptWithCompletions(1);
    await expectNothingStored(async () => {
      const error = await expectError(
        await call("POST", "/v1/completions", {
          as: "trainer",
          json: {
            completions: [
              { promptId, text: "ok" },
              { promptId: 987654, text: "x" },
            ],
          },
        }),
        404,
        "not_found",
      );
      expect(error.message).toContain("987654");
    });
  });

  it("refuses an unknown checkpoint and a reward checkpoint as the writer", async () => {
    const { promptId } = await promptWithCompletions(1);
    await expectNothingStored(async () => {
      await expectError(
        await call("POST", "/v1/completions", { as: "trainer", json: { checkpointId: 4242, completions: [{ promptId, text: "x" }] } }),
        404,
        "not_found",
      );
    });
    const sha256 = "a".repeat(64);
    const reward = await callJson("POST", "/v1/checkpoints", 201, { as: "trainer", json: { kind: "reward", sha256, sizeBytes: 3 } });
    await expectNothingStored(async () => {
      await expectError(
        await call("POST", "/v1/completions", { as: "trainer", json: { checkpointId: reward.id, completions: [{ promptId, text: "x" }] } }),
        400,
        "invalid_request",
      );
    });
  });

  it("refuses malformed input with 400 and stores nothing", async () => {
    const { promptId } = await promptWithCompletions(1);
    await expectNothingStored(async () => {
      for (const json of [
        {},
        { completions: [] },
        { completions: [{ promptId: "one", text: "x" }] },
        { completions: [{ promptId: -1, text: "x" }] },
        { completions: [{ promptId, text: "" }] },
        { completions: [{ promptId, text: "x".repeat(4001) }] },
        { completions: Array.from({ length: 501 }, () => ({ promptId, text: "x" })) },
        { completions: [{ promptId, text: "x" }], generation: { nested: { no: 1 } } },
      ]) {
        await expectError(await call("POST", "/v1/completions", { as: "trainer", json }), 400, "invalid_request");
      }
      await expectError(
        await call("POST", "/v1/completions", { as: "trainer", body: "[", headers: { "content-type": "application/json" } }),
        400,
        "malformed_json",
      );
      await expectError(await call("GET", "/v1/completions?promptId=x", { as: "bot" }), 400, "invalid_request");
    });
  });

  it("keeps raters' bot out of writing completions", async () => {
    const { promptId } = await promptWithCompletions(1);
    await expectNothingStored(async () => {
      await expectError(await call("POST", "/v1/completions", { as: "bot", json: { completions: [{ promptId, text: "x" }] } }), 403, "forbidden");
    });
  });
});
