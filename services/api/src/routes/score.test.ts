import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, expectError, expectNothingStored } from "../../test/helpers.ts";

describe("POST /v1/score", () => {
  it("answers 503 with a clear message when no scorer is configured", async () => {
    const error = await expectError(await call("POST", "/v1/score", { as: "bot", json: { texts: ["很好"] } }), 503, "scoring_unavailable");
    expect(error.message).toMatch(/SCORER_URL/);
  });

  it("refuses malformed requests before forwarding anything", async () => {
    await expectNothingStored(async () => {
      for (const json of [{}, { texts: [] }, { texts: [""] }, { texts: ["a".repeat(2001)] }, { texts: Array(65).fill("a") }, { texts: ["a"], prompts: ["p", "q"] }, { texts: ["a"], extra: 1 }, { texts: [5] }]) {
        await expectError(await call("POST", "/v1/score", { as: "trainer", json }), 400, "invalid_request");
      }
      await expectError(await call("POST", "/v1/score", { as: "trainer", body: "{", headers: { "content-type": "application/json" } }), 400, "malformed_json");
      await expectError(await call("POST", "/v1/score", { as: null, json: { texts: ["a"] } }), 401, "unauthorized");
    });
  });

  it("is documented at /openapi.json", async () => {
    const spec = (await (await SELF.fetch("https://api.test/openapi.json")).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(spec.paths)).toContain("/v1/score");
  });
});
