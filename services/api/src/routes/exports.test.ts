import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, callJson, expectError, rater, uniqueText } from "../../test/helpers.ts";

async function rankedPrompt(texts: string[], checkpointId: number | null = null) {
  const { prompts } = await callJson("POST", "/v1/prompts", 201, { json: { prompts: [{ text: uniqueText("这部电影很") }] } });
  const promptId = prompts[0].id;
  const { completions } = await callJson("POST", "/v1/completions", 201, {
    as: "trainer",
    json: { checkpointId, completions: texts.map((text) => ({ promptId, text })) },
  });
  const raterId = await rater();
  // The rater's order is the order of `texts`: best first.
  await callJson("POST", "/v1/rankings", 201, {
    as: "bot",
    json: { raterId, promptId, completionIds: completions.map((c: { id: number }) => c.id), source: "web" },
  });
}

async function readyPolicyCheckpoint() {
  const bytes = crypto.getRandomValues(new Uint8Array(64));
  const sha = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
  return callJson("POST", "/v1/checkpoints", 201, { as: "trainer", json: { kind: "policy", sha256: sha, sizeBytes: 64 } });
}

describe("exports", () => {
  it("streams the seed's rank-list TSV, best first, one list a line", async () => {
    await rankedPrompt(["非常好，强烈推荐", "还行吧", "太差了\t退货"]);
    const res = await call("GET", "/v1/exports/rankings.tsv", { as: "trainer" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/tab-separated/);
    const lines = (await res.text()).trimEnd().split("\n");
    expect(lines).toContain("非常好，强烈推荐\t还行吧\t太差了 退货");
  });

  it("streams every pair as JSONL with the better one chosen", async () => {
    const marker = uniqueText("最好");
    await rankedPrompt([marker, "中等", "最差"]);
    const res = await call("GET", "/v1/exports/pairs.jsonl", { as: "admin" });
    const rows = (await res.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const mine = rows.filter((r) => r.chosen === marker || r.rejected === "最差");
    expect(
      mine
        .filter((r) => r.chosen === marker)
        .map((r) => r.rejected)
        .sort(),
    ).toEqual(["中等", "最差"]);
    expect(rows.every((r) => typeof r.prompt === "string" && typeof r.chosen === "string" && typeof r.rejected === "string")).toBe(true);
  });

  it("pages through more lists than one page holds", async () => {
    const before = (await env.DB.prepare("SELECT count(*) AS n FROM rankings").first<{ n: number }>())!.n;
    // 105 rank lists of one rater over pairs of one prompt's completions, written
    // straight into D1: this test is about the export's paging, not about submitting.
    const { prompts } = await callJson("POST", "/v1/prompts", 201, { json: { prompts: [{ text: uniqueText("分页") }] } });
    const promptId = prompts[0].id as number;
    const { completions } = await callJson("POST", "/v1/completions", 201, {
      as: "trainer",
      json: { completions: Array.from({ length: 210 }, (_, k) => ({ promptId, text: `${k % 2 === 0 ? "甲" : "乙"}${Math.floor(k / 2)}` })) },
    });
    const raterId = await rater();
    const statements = [];
    for (let i = 0; i < 105; i++) {
      const [better, worse] = [completions[2 * i].id as number, completions[2 * i + 1].id as number];
      const set = `${better},${worse}`;
      statements.push(
        env.DB.prepare("INSERT INTO rankings (rater_id, prompt_id, completion_set, source, created_at) VALUES (?, ?, ?, 'import', ?)").bind(
          raterId,
          promptId,
          set,
          Date.now(),
        ),
        env.DB.prepare("INSERT INTO ranking_items SELECT id, 0, 0, ?, ? FROM rankings WHERE rater_id = ? AND completion_set = ?").bind(
          promptId,
          better,
          raterId,
          set,
        ),
        env.DB.prepare("INSERT INTO ranking_items SELECT id, 1, 1, ?, ? FROM rankings WHERE rater_id = ? AND completion_set = ?").bind(
          promptId,
          worse,
          raterId,
          set,
        ),
      );
    }
    await env.DB.batch(statements);
    const lines = (await (await call("GET", "/v1/exports/rankings.tsv", { as: "trainer" })).text()).trimEnd().split("\n");
    expect(lines).toHaveLength(before + 105);
    expect(lines).toContain("甲104\t乙104");
  });

  it("filters by time and by the checkpoint that wrote the completions", async () => {
    const checkpoint = await readyPolicyCheckpoint();
    const cut = new Date(Date.now() - 1).toISOString();
    await rankedPrompt(["新模型好", "新模型差"], checkpoint.id);
    const byCheckpoint = (await (await call("GET", `/v1/exports/rankings.tsv?checkpointId=${checkpoint.id}`, { as: "trainer" })).text()).trimEnd();
    expect(byCheckpoint).toBe("新模型好\t新模型差");
    const since = (await (await call("GET", `/v1/exports/rankings.tsv?since=${encodeURIComponent(cut)}`, { as: "trainer" })).text()).trimEnd().split("\n");
    expect(since).toContain("新模型好\t新模型差");
    const until = (await (await call("GET", `/v1/exports/rankings.tsv?until=${encodeURIComponent(cut)}`, { as: "trainer" })).text()).split("\n");
    expect(until).not.toContain("新模型好\t新模型差");
  });

  it("refuses bad filters; the bot may export rank lists (for its admins' /export) but not pairs", async () => {
    await expectError(await call("GET", "/v1/exports/rankings.tsv?since=yesterday", { as: "trainer" }), 400, "invalid_request");
    await expectError(
      await call("GET", "/v1/exports/pairs.jsonl?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", { as: "trainer" }),
      400,
      "invalid_request",
    );
    await expectError(await call("GET", "/v1/exports/pairs.jsonl?checkpointId=x", { as: "trainer" }), 400, "invalid_request");
    expect((await call("GET", "/v1/exports/rankings.tsv", { as: "bot" })).status).toBe(200);
    await expectError(await call("GET", "/v1/exports/pairs.jsonl", { as: "bot" }), 403, "forbidden");
  });
});
