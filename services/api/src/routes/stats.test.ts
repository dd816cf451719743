import { describe, expect, it } from "vitest";
import { call, callJson, expectError, promptWithCompletions, rater } from "../../test/helpers.ts";

describe("stats", () => {
  it("counts labels per rater and prompt and measures agreement on shared items", async () => {
    const [a, b] = [await rater(), await rater()];
    const { promptId, completionIds: ids } = await promptWithCompletions(4);
    const [c0, c1, c2, c3] = ids as [number, number, number, number];
    // Scores: both raters score c0 (|1 − 0.5| = 0.5); only a scores c1.
    await callJson("POST", "/v1/scores", 201, { as: "bot", json: { raterId: a, completionId: c0, value: 1, source: "web" } });
    await callJson("POST", "/v1/scores", 201, { as: "bot", json: { raterId: b, completionId: c0, value: 0.5, source: "web" } });
    await callJson("POST", "/v1/scores", 201, { as: "bot", json: { raterId: a, completionId: c1, value: 0, source: "web" } });
    // Rankings of the same 4: one adjacent swap → tau = (5 − 1) / 6.
    await callJson("POST", "/v1/rankings", 201, { as: "bot", json: { raterId: a, promptId, completionIds: [c0, c1, c2, c3], source: "web" } });
    await callJson("POST", "/v1/rankings", 201, { as: "bot", json: { raterId: b, promptId, completionIds: [c1, c0, c2, c3], source: "telegram" } });

    const stats = await callJson("GET", "/v1/stats", 200, { as: "bot" });
    const ra = stats.perRater.find((r: { raterId: number }) => r.raterId === a);
    expect(ra).toMatchObject({ scores: 2, rankings: 1, agreement: { scoreMeanAbsDiff: 0.5, scorePairs: 1, rankPairs: 1 } });
    expect(ra.agreement.rankKendallTau).toBeCloseTo(4 / 6, 12);
    expect(stats.perPrompt.find((p: { promptId: number }) => p.promptId === promptId)).toMatchObject({ completions: 4, scores: 3, rankings: 2 });
    expect(stats.labelsWaiting.scores).toBeGreaterThanOrEqual(3);
    expect(stats.agreement.rankings.pairs).toBeGreaterThanOrEqual(1);

    const one = await callJson("GET", `/v1/stats/raters/${b}`, 200, { as: "bot" });
    expect(one).toMatchObject({ raterId: b, scores: 1, rankings: 1, agreement: { scoreMeanAbsDiff: 0.5 } });
  });

  it("shows the live reward model's held-out agreement beside the raters' own, overall and for one rater", async () => {
    const a = await rater();
    const bytes = Uint8Array.from({ length: 512 }, (_, i) => (i * 13 + 5) % 251);
    const digest = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((x) => x.toString(16).padStart(2, "0")).join("");
    const metrics = {
      held_out_accuracy: 0.8,
      held_out_pairs: 60,
      [`held_out_accuracy/rater_${a}`]: 0.75,
      [`held_out_pairs/rater_${a}`]: 20,
      "agreement/model_rater_tau": 0.5,
      "agreement/rater_rater_tau": 0.6,
      "agreement/shared_pairs": 30,
    };
    const meta = await callJson("POST", "/v1/checkpoints", 201, {
      as: "trainer",
      json: { kind: "reward", sha256: digest, sizeBytes: bytes.byteLength, metrics, config: {} },
    });
    await callJson("PUT", `/v1/checkpoints/${meta.id}/file`, 200, { as: "trainer", body: bytes, headers: { "content-length": String(bytes.byteLength) } });
    await callJson("POST", `/v1/checkpoints/${meta.id}/activate`, 200, { as: "trainer" });
    const stats = await callJson("GET", "/v1/stats", 200, { as: "bot" });
    expect(stats.rewardModel).toMatchObject({
      checkpointId: meta.id,
      heldOutAccuracy: 0.8,
      heldOutPairs: 60,
      modelRaterTau: 0.5,
      raterRaterTau: 0.6,
      sharedPairs: 30,
    });
    expect(stats.rewardModel.perRater).toContainEqual({ raterId: a, accuracy: 0.75, pairs: 20 });
    const one = await callJson("GET", `/v1/stats/raters/${a}`, 200, { as: "bot" });
    expect(one.rewardModel.perRater).toEqual([{ raterId: a, accuracy: 0.75, pairs: 20 }]);
  });

  it("lists every rater's reliability to the admin token, only the aggregate to others, and only themselves to a rater", async () => {
    const [careful, spammer, boss, fresh] = [await rater(), await rater(), await rater(), await rater()];
    await callJson("PATCH", `/v1/raters/${boss}`, 200, { json: { role: "admin" } });
    await callJson("PATCH", `/v1/raters/${spammer}`, 200, { json: { blocked: true } });
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => (i * 7 + 3) % 253);
    const digest = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((x) => x.toString(16).padStart(2, "0")).join("");
    const metrics = {
      [`reliability/rater_${careful}`]: 0.95,
      [`reliability_weight/rater_${careful}`]: 0.9,
      [`reliability_judgements/rater_${careful}`]: 120,
      [`reliability_gold_judgements/rater_${careful}`]: 12,
      [`held_out_accuracy/rater_${careful}`]: 0.8,
      [`held_out_pairs/rater_${careful}`]: 30,
      [`reliability/rater_${spammer}`]: 0.55,
      [`reliability_weight/rater_${spammer}`]: 0.1,
      [`reliability/rater_${boss}`]: 0.9,
      "agreement/model_rater_tau": 0.4,
      "agreement/rater_rater_tau": 0.5,
      "agreement/shared_pairs": 18,
    };
    const meta = await callJson("POST", "/v1/checkpoints", 201, {
      as: "trainer",
      json: { kind: "reward", sha256: digest, sizeBytes: bytes.byteLength, metrics, config: {} },
    });
    await callJson("PUT", `/v1/checkpoints/${meta.id}/file`, 200, { as: "trainer", body: bytes, headers: { "content-length": String(bytes.byteLength) } });
    await callJson("POST", `/v1/checkpoints/${meta.id}/activate`, 200, { as: "trainer" });

    const aggregate = { checkpointId: meta.id, version: meta.version, modelRaterTau: 0.4, raterRaterTau: 0.5, sharedPairs: 18 };
    const all = (await callJson("GET", "/v1/stats", 200)).raterQuality;
    expect(all).toMatchObject(aggregate);
    const ids = all.raters.map((r: { raterId: number }) => r.raterId);
    // Least reliable first; a rater the checkpoint says nothing about comes after those it rates.
    expect(ids.indexOf(spammer)).toBeLessThan(ids.indexOf(boss));
    expect(ids.indexOf(boss)).toBeLessThan(ids.indexOf(careful));
    expect(ids.indexOf(careful)).toBeLessThan(ids.indexOf(fresh));
    expect(all.raters.find((r: { raterId: number }) => r.raterId === careful)).toEqual({
      raterId: careful,
      displayName: null,
      role: "rater",
      blocked: false,
      reliability: 0.95,
      reliabilityWeight: 0.9,
      judgements: 120,
      goldJudgements: 12,
      heldOutAccuracy: 0.8,
      heldOutPairs: 30,
    });
    expect(all.raters.find((r: { raterId: number }) => r.raterId === spammer)).toMatchObject({
      blocked: true,
      reliability: 0.55,
      judgements: null,
      heldOutAccuracy: null,
    });
    expect(all.raters.find((r: { raterId: number }) => r.raterId === fresh)).toMatchObject({ reliability: null, reliabilityWeight: null });

    for (const as of ["bot", "trainer"] as const) {
      const q = (await callJson("GET", "/v1/stats", 200, { as })).raterQuality;
      expect(q).toEqual({ ...aggregate, raters: [] });
    }
    const own = (await callJson("GET", `/v1/stats/raters/${careful}`, 200, { as: "bot" })).raterQuality;
    expect(own).toMatchObject(aggregate);
    expect(own.raters.map((r: { raterId: number }) => r.raterId)).toEqual([careful]);
    // An admin rater (whom the bot speaks for) sees the whole table.
    const asAdmin = (await callJson("GET", `/v1/stats/raters/${boss}`, 200, { as: "bot" })).raterQuality;
    expect(asAdmin.raters.map((r: { raterId: number }) => r.raterId)).toEqual(expect.arrayContaining([careful, spammer, boss, fresh]));
  });

  it("answers 404 for an unknown rater and 400 for a bad id", async () => {
    await expectError(await call("GET", "/v1/stats/raters/999999", { as: "bot" }), 404, "not_found");
    await expectError(await call("GET", "/v1/stats/raters/-3", { as: "bot" }), 400, "invalid_request");
  });
});
