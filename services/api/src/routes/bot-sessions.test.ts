import { describe, expect, it } from "vitest";
import { call, callJson, expectError, expectNothingStored } from "../../test/helpers.ts";

describe("bot sessions", () => {
  it("stores, replaces, reads and deletes a session by key", async () => {
    await expectError(await call("GET", "/v1/bot-sessions/42:42", { as: "bot" }), 404, "not_found");
    await callJson("PUT", "/v1/bot-sessions/42:42", 200, { as: "bot", json: { value: { rank: { picked: [3] } } } });
    await callJson("PUT", "/v1/bot-sessions/42:42", 200, { as: "bot", json: { value: { rank: { picked: [3, 5] } } } });
    const got = await callJson("GET", "/v1/bot-sessions/42:42", 200, { as: "bot" });
    expect(got.value).toEqual({ rank: { picked: [3, 5] } });
    await callJson("DELETE", "/v1/bot-sessions/42:42", 200, { as: "bot" });
    await expectError(await call("GET", "/v1/bot-sessions/42:42", { as: "bot" }), 404, "not_found");
  });

  it("refuses malformed keys and bodies, oversized values and the trainer role", async () => {
    await expectNothingStored(async () => {
      await expectError(await call("PUT", "/v1/bot-sessions/a%20b", { as: "bot", json: { value: 1 } }), 400, "invalid_request");
      await expectError(await call("PUT", "/v1/bot-sessions/k", { as: "bot", json: {} }), 400, "invalid_request");
      await expectError(await call("PUT", "/v1/bot-sessions/k", { as: "bot", json: { value: 1, extra: 2 } }), 400, "invalid_request");
      await expectError(await call("PUT", "/v1/bot-sessions/k", { as: "bot", json: { value: "x".repeat(20_000) } }), 400, "invalid_request");
      await expectError(
        await call("PUT", "/v1/bot-sessions/k", { as: "bot", body: "{", headers: { "content-type": "application/json" } }),
        400,
        "malformed_json",
      );
      await expectError(await call("PUT", "/v1/bot-sessions/k", { as: "trainer", json: { value: 1 } }), 403, "forbidden");
    });
  });
});
