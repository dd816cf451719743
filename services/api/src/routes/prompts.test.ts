import { describe, expect, it } from "vitest";
import { call, callJson, expectError, expectNothingStored, uniqueText } from "../../test/helpers.ts";

describe("prompts", () => {
  it("creates in bulk, returns stored rows, and ignores a repeated text", async () => {
    const a = uniqueText("这部电影很");
    const b = uniqueText("说实话，真的很");
    const first = await callJson("POST", "/v1/prompts", 201, { json: { prompts: [{ text: a }, { text: b, source: "seed" }, { text: a }] } });
    expect(first.created).toBe(2);
    expect(first.prompts.map((p: { text: string }) => p.text).sort()).toEqual([a, b].sort());

    const again = await callJson("POST", "/v1/prompts", 200, { as: "trainer", json: { prompts: [{ text: a }] } });
    expect(again.created).toBe(0);
    expect(again.prompts[0].id).toBe(first.prompts.find((p: { text: string }) => p.text === a).id);
  });

  it("lists newest first with a cursor, gets one, and draws a random active one", async () => {
    const texts = [uniqueText("p"), uniqueText("p"), uniqueText("p")];
    const { prompts } = await callJson("POST", "/v1/prompts", 201, { json: { prompts: texts.map((text) => ({ text })) } });
    const page1 = await callJson("GET", "/v1/prompts?limit=2", 200, { as: "bot" });
    expect(page1.items).toHaveLength(2);
    expect(page1.items[0].id).toBeGreaterThan(page1.items[1].id);
    const page2 = await callJson("GET", `/v1/prompts?limit=2&cursor=${page1.nextCursor}`, 200, { as: "bot" });
    expect(page2.items[0].id).toBeLessThan(page1.items[1].id);

    const one = await callJson("GET", `/v1/prompts/${prompts[0].id}`, 200, { as: "trainer" });
    expect(one.text).toBe(prompts[0].text);

    const random = await callJson("GET", "/v1/prompts/random", 200, { as: "bot" });
    expect(random.active).toBe(true);
  });

  it("never draws an inactive prompt", async () => {
    const { prompts } = await callJson("POST", "/v1/prompts", 201, { json: { prompts: [{ text: uniqueText("off") }] } });
    await callJson("PATCH", `/v1/prompts/${prompts[0].id}`, 200, { json: { active: false } });
    for (let i = 0; i < 20; i++) {
      const res = await call("GET", "/v1/prompts/random", { as: "bot" });
      if (res.status === 200) expect(((await res.json()) as { id: number }).id).not.toBe(prompts[0].id);
      else await expectError(res, 404, "not_found");
    }
    const inactive = await callJson("GET", "/v1/prompts?active=false", 200);
    expect(inactive.items.map((p: { id: number }) => p.id)).toContain(prompts[0].id);
  });

  it("refuses malformed bodies with 400 and stores nothing", async () => {
    await expectNothingStored(async () => {
      await expectError(await call("POST", "/v1/prompts", { body: "{not json", headers: { "content-type": "application/json" } }), 400, "malformed_json");
      await expectError(await call("POST", "/v1/prompts", { json: {} }), 400, "invalid_request");
      await expectError(await call("POST", "/v1/prompts", { json: { prompts: [] } }), 400, "invalid_request");
      await expectError(await call("POST", "/v1/prompts", { json: { prompts: [{ text: 42 }] } }), 400, "invalid_request");
      await expectError(await call("POST", "/v1/prompts", { json: { prompts: [{ text: "   " }] } }), 400, "invalid_request");
      await expectError(await call("POST", "/v1/prompts", { json: { prompts: [{ text: "x".repeat(2001) }] } }), 400, "invalid_request");
      // One bad row refuses the whole batch: the good one is not stored either.
      await expectError(await call("POST", "/v1/prompts", { json: { prompts: [{ text: uniqueText("ok") }, { text: "" }] } }), 400, "invalid_request");
      await expectError(await call("POST", "/v1/prompts", { json: { prompts: [{ text: "a", extra: 1 }] } }), 400, "invalid_request");
    });
  });

  it("names every invalid field in issues", async () => {
    const error = await expectError(await call("POST", "/v1/prompts", { json: { prompts: [{ text: 1 }, { text: "" }] } }), 400, "invalid_request");
    expect((error as unknown as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual(["prompts.0.text", "prompts.1.text"]);
  });

  it("answers 404 for unknown ids and 400 for ids that are not ids", async () => {
    await expectError(await call("GET", "/v1/prompts/999999", { as: "bot" }), 404, "not_found");
    await expectError(await call("GET", "/v1/prompts/abc", { as: "bot" }), 400, "invalid_request");
    await expectError(await call("PATCH", "/v1/prompts/999999", { json: { active: false } }), 404, "not_found");
    await expectError(await call("PATCH", "/v1/prompts/1", { json: {} }), 400, "invalid_request");
  });

  it("lets only the trainer and admin create, only admin edit", async () => {
    await expectNothingStored(async () => {
      await expectError(await call("POST", "/v1/prompts", { as: "bot", json: { prompts: [{ text: uniqueText("x") }] } }), 403, "forbidden");
      await expectError(await call("PATCH", "/v1/prompts/1", { as: "trainer", json: { active: false } }), 403, "forbidden");
    });
  });
});
