import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, callJson, expectError, expectNothingStored, promptWithCompletions, rater } from "../../test/helpers.ts";

/** A JSON body sent under another Content-Type, as `fetch` does for a string (text/plain) or a form. */
const sentAs = (type: string | undefined, json: unknown) => ({
  body: JSON.stringify(json),
  headers: (type ? { "content-type": type } : {}) as Record<string, string>,
});

const WRONG_TYPES = ["text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", undefined];

describe("JSON routes and a body that is not declared JSON", () => {
  it("refuses to acknowledge a lease from a text/plain body instead of reading it as {} (= every label)", async () => {
    const raterId = await rater();
    const { completionIds } = await promptWithCompletions(2);
    for (const completionId of completionIds) {
      await callJson("POST", "/v1/scores", 201, { as: "bot", json: { raterId, completionId, value: 0.5, source: "telegram" } });
    }
    const leased = await callJson("POST", "/v1/leases", 201, { as: "trainer", json: { holder: "t", limit: 10 } });
    const [first] = leased.scores as { id: number }[];
    for (const type of WRONG_TYPES) {
      const error = await expectError(
        await call("POST", `/v1/leases/${leased.lease.id}/ack`, { as: "trainer", ...sentAs(type, { scoreIds: [first!.id] }) }),
        415,
        "unsupported_media_type",
      );
      expect(error.message).toMatch(/application\/json/);
    }
    const trained = await env.DB.prepare("SELECT count(*) AS n FROM scores WHERE trained_at IS NOT NULL").first("n");
    expect(trained).toBe(0);
    // The same body as JSON acknowledges that one label only.
    const ack = await callJson("POST", `/v1/leases/${leased.lease.id}/ack`, 200, { as: "trainer", json: { scoreIds: [first!.id] } });
    expect(ack.acknowledged).toEqual({ rankings: 0, scores: 1 });
  });

  it("stores nothing for a web login or a training run asked for in a form or text body", async () => {
    const raterId = await rater();
    await expectNothingStored(async () => {
      for (const type of WRONG_TYPES) {
        await expectError(
          await call("POST", `/v1/raters/${raterId}/web-logins`, { as: "admin", ...sentAs(type, { label: "phone" }) }),
          415,
          "unsupported_media_type",
        );
        await expectError(await call("POST", "/v1/training-runs", { as: "admin", ...sentAs(type, { kind: "reward" }) }), 415, "unsupported_media_type");
      }
    });
  });

  it("still takes JSON with a charset or a +json suffix, and a route's default when there is no body at all", async () => {
    const raterId = await rater();
    await callJson("POST", `/v1/raters/${raterId}/web-logins`, 201, { as: "admin", ...sentAs("application/json; charset=utf-8", { label: "a" }) });
    await callJson("POST", `/v1/raters/${raterId}/web-logins`, 201, { as: "admin", ...sentAs("application/vnd.ranklab+json", { label: "b" }) });
    await callJson("POST", `/v1/raters/${raterId}/web-logins`, 201, { as: "admin" });
  });
});
