import { createExecutionContext, env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, expectError, expectNothingStored } from "../../test/helpers.ts";
import { TEST_TOKENS } from "../../test/tokens.ts";
import worker from "../worker.ts";

/** POST /v1/score through the Worker's fetch handler, with SCORER_URL set to a test scorer scenario (test/faulty-scorer.ts), or to "" for none. */
async function scoreWith(scenario: string, texts: string[], extra: { prompts?: string[]; env?: Record<string, string> } = {}): Promise<Response> {
  const request = new Request("https://api.test/v1/score", {
    method: "POST",
    headers: { authorization: `Bearer ${TEST_TOKENS.bot}`, "content-type": "application/json" },
    body: JSON.stringify({ texts, ...(extra.prompts ? { prompts: extra.prompts } : {}) }),
  });
  return worker.fetch(
    request as Parameters<typeof worker.fetch>[0],
    { ...env, SCORER_URL: scenario && `http://scorer.test/${scenario}`, ...extra.env },
    createExecutionContext(),
  );
}

describe("POST /v1/score", () => {
  it("answers 503 with a clear message when no scorer is configured", async () => {
    const error = await expectError(await scoreWith("", ["很好"]), 503, "scoring_unavailable");
    expect(error.message).toMatch(/SCORER_URL/);
  });

  it("refuses malformed requests before forwarding anything", async () => {
    await expectNothingStored(async () => {
      for (const json of [
        {},
        { texts: [] },
        { texts: [""] },
        { texts: ["a".repeat(2001)] },
        { texts: Array(65).fill("a") },
        { texts: ["a"], prompts: ["p", "q"] },
        { texts: ["a"], extra: 1 },
        { texts: [5] },
      ]) {
        await expectError(await call("POST", "/v1/score", { as: "trainer", json }), 400, "invalid_request");
      }
      await expectError(await call("POST", "/v1/score", { as: "trainer", body: "{", headers: { "content-type": "application/json" } }), 400, "malformed_json");
      await expectError(await call("POST", "/v1/score", { as: null, json: { texts: ["a"] } }), 401, "unauthorized");
    });
  });

  it("passes on a scorer's answer with one finite score per text", async () => {
    const res = await scoreWith("good", ["很好", "很差"]);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ scores: [0, 0.1], checkpoint: { id: 1, version: 1, sha256: "a".repeat(64) } });
    // A checkpoint with a recorded scale: the normalised scores and the scale pass through.
    const scaled = await scoreWith("scaled", ["很好", "很差"]);
    expect(await scaled.json()).toEqual({
      scores: [0, 0.1],
      normalizedScores: [-0.05, 0],
      checkpoint: { id: 1, version: 1, sha256: "a".repeat(64), rewardMean: 0.1, rewardStd: 2 },
    });
  });

  it("answers 502 when the scorer's answer is not one finite number per text, or too large", async () => {
    for (const scenario of ["short", "long", "infinite", "strings", "not-json", "huge", "short-normalized"]) {
      const error = await expectError(await scoreWith(scenario, ["很好", "很差"]), 502, "scorer_failed");
      expect(error.message).toMatch(scenario === "huge" ? /larger than/ : /one finite score per text/);
    }
  });

  it("answers 502 scorer_failed when the scorer breaks off mid-answer, or stalls past the deadline", async () => {
    // A short deadline so the test does not wait 15 s: neither answer ends by itself (under miniflare
    // a cut answer with a Content-Length waits for the missing bytes; on a real socket it errors at once).
    await expectError(await scoreWith("breaks-off", ["很好"], { env: { SCORER_TIMEOUT_MS: "300" } }), 502, "scorer_failed");
    const stalled = await expectError(await scoreWith("stalls", ["很好"], { env: { SCORER_TIMEOUT_MS: "300" } }), 502, "scorer_failed");
    expect(stalled.message).toMatch(/within 300 ms/);
  });

  it("forwards the largest request it accepts within the scorer's body limit (64 texts and prompts of 2,000 control characters)", async () => {
    const control = "\u0001".repeat(2000);
    const res = await scoreWith("good", Array(64).fill(control), { prompts: Array(64).fill(control) });
    expect(`${res.status} ${res.status === 200 ? "" : await res.text()}`).toBe("200 ");
  });

  it("is documented at /openapi.json", async () => {
    const spec = (await (await SELF.fetch("https://api.test/openapi.json")).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(spec.paths)).toContain("/v1/score");
  });
});
