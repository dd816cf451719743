import { describe, expect, it } from "vitest";
import { call, callJson, expectError, expectNothingStored, uniqueText } from "../../test/helpers.ts";
import { MAX_JSON_BYTES } from "../app.ts";

describe("auth and the error boundary", () => {
  it("answers 401 without a token or with a wrong one, storing nothing", async () => {
    const json = { prompts: [{ text: uniqueText("x") }] };
    await expectNothingStored(async () => {
      await expectError(await call("POST", "/v1/prompts", { as: null, json }), 401, "unauthorized");
      await expectError(await call("POST", "/v1/prompts", { as: null, json, headers: { authorization: "Bearer nope" } }), 401, "unauthorized");
      await expectError(await call("POST", "/v1/prompts", { as: null, json, headers: { authorization: "Basic dGVzdA==" } }), 401, "unauthorized");
    });
  });

  it("refuses a body above the limit with 413 before reading it", async () => {
    await expectNothingStored(async () => {
      const big = JSON.stringify({ prompts: [{ text: "x".repeat(MAX_JSON_BYTES) }] });
      await expectError(await call("POST", "/v1/prompts", { body: big, headers: { "content-type": "application/json" } }), 413, "payload_too_large");
    });
  });

  it("answers 401 to a stranger before the body limit reads anything, even a body past the limit", async () => {
    await expectNothingStored(async () => {
      const big = JSON.stringify({ prompts: [{ text: "x".repeat(MAX_JSON_BYTES) }] });
      await expectError(await call("POST", "/v1/prompts", { as: null, body: big, headers: { "content-type": "application/json" } }), 401, "unauthorized");
      await expectError(
        await call("POST", "/v1/prompts", { as: null, body: big, headers: { "content-type": "application/json", authorization: "Bearer nope" } }),
        401,
        "unauthorized",
      );
    });
  });

  it("answers unknown routes with the JSON error shape", async () => {
    await expectError(await call("GET", "/v1/nothing-here"), 404, "not_found");
  });

  it("serves /health without a token", async () => {
    expect(await callJson("GET", "/health", 200, { as: null })).toEqual({ ok: true });
  });
});
