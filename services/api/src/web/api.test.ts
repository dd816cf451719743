import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, callJson, expectError, expectNothingStored } from "../../test/helpers.ts";
import { body, loginAs, page } from "../../test/web-helpers.ts";

async function promptWithCompletions(text: string, n = 4) {
  const { prompts } = await callJson("POST", "/v1/prompts", 201, { json: { prompts: [{ text }] } });
  const prompt = prompts[0];
  const { completions } = await callJson("POST", "/v1/completions", 201, {
    as: "trainer",
    json: { completions: Array.from({ length: n }, (_, i) => ({ promptId: prompt.id, text: `${text}续写${i}` })) },
  });
  return { prompt, completions };
}

describe("the labeling page", () => {
  it("sends a CSP without inline script, nosniff and no framing, and serves its script and style as files", async () => {
    const res = await SELF.fetch("https://api.test/app");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).not.toContain("unsafe-inline");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    const html = await res.text();
    // Every <script> is a file (no inline code), and there is no inline style either.
    expect(html.match(/<script[^>]*>[^<]*<\/script>/g)).toEqual(['<script src="/app/app.js" defer></script>']);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    // The style comes from the Worker; the script is a static asset (test/api-under-wrangler-dev.test.ts serves it).
    const css = await SELF.fetch("https://api.test/app/app.css");
    expect(css.status).toBe(200);
    expect(css.headers.get("content-type")).toMatch(/^text\/css/);
    expect(css.headers.get("x-content-type-options")).toBe("nosniff");
    expect((await css.text()).length).toBeGreaterThan(500);
    // The page's API answers carry the headers too, errors included.
    const api = await page("GET", "/me");
    expect(api.status).toBe(401);
    expect(api.headers.get("x-content-type-options")).toBe("nosniff");
    expect(api.headers.get("x-frame-options")).toBe("DENY");
  });

  it("refuses state-changing page requests from another origin or site, logout included, with 403", async () => {
    const { cookie } = await loginAs("web:frank");
    const { prompt, completions } = await promptWithCompletions("这件外套很");
    const ranking = { promptId: prompt.id, completionIds: completions.map((c: { id: number }) => c.id) };
    const foreign: Record<string, string>[] = [
      { origin: "https://evil.example" },
      { origin: "null" },
      { origin: "http://api.test" },
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site" },
      { "sec-fetch-site": "same-origin", origin: "https://evil.example" },
      {},
    ];
    await expectNothingStored(async () => {
      for (const headers of foreign) {
        await expectError(await page("POST", "/logout", { cookie, headers: { ...headers } }), 403, "forbidden");
        await expectError(await page("POST", "/rankings", { cookie, json: ranking, headers: { ...headers } }), 403, "forbidden");
        await expectError(await page("POST", "/login", { json: { token: "x".repeat(43) }, headers: { ...headers } }), 403, "forbidden");
      }
    });
    // The refused logout left the login alone; the page's own requests go through.
    expect((await page("GET", "/me", { cookie, headers: { "sec-fetch-site": "cross-site" } })).status).toBe(200);
    expect((await page("POST", "/rankings", { cookie, json: ranking, headers: { "sec-fetch-site": "same-origin" } })).status).toBe(201);
    const out = await page("POST", "/logout", { cookie, headers: { origin: "https://api.test", "sec-fetch-site": "same-origin" } });
    expect(out.status).toBe(200);
    expect(out.headers.get("set-cookie")).toMatch(/^__Host-ranklab_session=;/);
  });

  it("serves the page at /app, in Chinese and English", async () => {
    const res = await SELF.fetch("https://api.test/app");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/html/);
    const body = await res.text();
    expect(body).toContain("排序标注");
    expect(body).toContain("Save ranking");
  });

  it("logs a rater in with a token made by an admin, stored only as its hash", async () => {
    const { login, cookie } = await loginAs("web:alice");
    expect(login.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const me = await body(await page("GET", "/me", { cookie }));
    expect(me).toMatchObject({ externalId: "web:alice", role: "rater" });
  });

  it("refuses requests without a live login, a revoked login, and a wrong token", async () => {
    await expectError(await page("GET", "/task"), 401, "unauthorized");
    await expectError(await page("POST", "/login", { json: { token: "x".repeat(43) } }), 401, "unauthorized");
    const { rater, login, cookie } = await loginAs("web:revoked");
    await callJson("DELETE", `/v1/raters/${rater.id}/web-logins/${login.id}`, 200);
    await expectError(await page("GET", "/me", { cookie }), 401, "unauthorized");
    await expectError(await call("POST", `/v1/raters/${rater.id}/web-logins`, { as: "bot", json: {} }), 403, "forbidden");
  });

  it("never offers a group with two identical completions", async () => {
    const { cookie } = await loginAs("web:dup");
    const { prompts } = await callJson("POST", "/v1/prompts", 201, { json: { prompts: [{ text: "这个耳机音质" }] } });
    const texts = ["很好", "一般", "很好", "很差", "不错", "还行", "太差", "完美"];
    await callJson("POST", "/v1/completions", 201, { as: "trainer", json: { completions: texts.map((text) => ({ promptId: prompts[0].id, text })) } });
    // Of the prompt's two groups, the first holds "很好" twice: only the second comes, then nothing.
    const seen: string[][] = [];
    for (;;) {
      const res = await page("GET", "/task", { cookie });
      if (res.status === 404) break;
      const task = await body(res);
      const ids = task.completions.map((c: { id: number }) => c.id);
      if (task.prompt.text === "这个耳机音质") seen.push(task.completions.map((c: { text: string }) => c.text).sort());
      expect((await page("POST", "/rankings", { cookie, json: { promptId: task.prompt.id, completionIds: ids } })).status).toBe(201);
    }
    expect(seen).toEqual([["不错", "太差", "完美", "还行"].sort()]);
  });

  it("draws a prompt with four completions and stores the order as a web ranking, once", async () => {
    const { cookie, rater } = await loginAs("web:bob");
    await promptWithCompletions("这台电脑很");
    const task = await body(await page("GET", "/task", { cookie }));
    expect(task.completions).toHaveLength(4);
    const order = task.completions.map((c: { id: number }) => c.id).reverse();
    const first = await page("POST", "/rankings", { cookie, json: { promptId: task.prompt.id, completionIds: order } });
    expect(first.status).toBe(201);
    const saved = await body(first);
    expect(saved.ranking).toMatchObject({ raterId: rater.id, source: "web", promptId: task.prompt.id });
    expect(saved.ranking.completions.map((c: { id: number }) => c.id)).toEqual(order);
    // A double click stores nothing twice.
    const again = await page("POST", "/rankings", { cookie, json: { promptId: task.prompt.id, completionIds: order } });
    expect(again.status).toBe(200);
    const list = await body(await page("GET", "/rankings?limit=5", { cookie }));
    expect(list.items[0].id).toBe(saved.ranking.id);
    const tsv = await (await page("GET", "/rankings.tsv", { cookie })).text();
    expect(tsv).toContain(saved.ranking.completions.map((c: { text: string }) => c.text).join("\t"));
  });

  it("hands out the same groups of 4 as the bot, never one this rater ranked, and stores ties", async () => {
    const { cookie, rater } = await loginAs("web:gina");
    const { completions } = await promptWithCompletions("这双鞋穿起来很", 8);
    const groups = [completions.slice(0, 4), completions.slice(4)].map((g: { id: number }[]) => g.map((c) => c.id).join(","));
    const seen = new Set<string>();
    for (let i = 0; i < 2; i++) {
      const task = await body(await page("GET", "/task", { cookie }));
      const ids = task.completions.map((c: { id: number }) => c.id);
      const set = [...ids].sort((a: number, b: number) => a - b).join(",");
      // Other tests' prompts may come first; this prompt's tasks are exactly its two groups.
      if (task.prompt.text !== "这双鞋穿起来很") {
        await page("POST", "/rankings", { cookie, json: { promptId: task.prompt.id, completionIds: ids } });
        i--;
        continue;
      }
      expect(groups).toContain(set);
      seen.add(set);
      const saved = await body(await page("POST", "/rankings", { cookie, json: { promptId: task.prompt.id, completionIds: ids, levels: [0, 1, 1, 2] } }));
      expect(saved.ranking.completions.map((c: { level: number }) => c.level)).toEqual([0, 1, 1, 2]);
    }
    expect(seen.size).toBe(2);
    // The bot's rank task for the same rater has nothing left of this prompt either.
    const next = await callJson("GET", `/v1/tasks/next?raterId=${rater.id}&kind=rank`, 200, { as: "bot" });
    expect(next.task === null || next.task.prompt.text !== "这双鞋穿起来很").toBe(true);
  });

  it("answers malformed page requests with 400 and stores nothing", async () => {
    const { cookie } = await loginAs("web:carol");
    const { prompt, completions } = await promptWithCompletions("这家餐厅很");
    await expectNothingStored(async () => {
      await expectError(await page("POST", "/login", { body: "{not json" }), 400, "malformed_json");
      await expectError(await page("POST", "/login", { json: { token: 5 } }), 400, "invalid_request");
      for (const json of [
        {},
        { promptId: prompt.id },
        { promptId: prompt.id, completionIds: [completions[0].id] },
        { promptId: "x", completionIds: [1, 2] },
        { promptId: prompt.id, completionIds: [completions[0].id, completions[0].id] },
        { promptId: prompt.id, completionIds: [completions[0].id, completions[1].id], raterId: 1 },
        { promptId: prompt.id, completionIds: [completions[0].id, completions[1].id], levels: [0, 2] },
        { promptId: prompt.id, completionIds: [completions[0].id, completions[1].id], levels: [0] },
      ]) {
        await expectError(await page("POST", "/rankings", { cookie, json }), 400, "invalid_request");
      }
      await expectError(
        await page("POST", "/rankings", { cookie, json: { promptId: prompt.id, completionIds: [completions[0].id, 999999] } }),
        404,
        "not_found",
      );
      await expectError(await page("GET", "/rankings?limit=abc", { cookie }), 400, "invalid_request");
    });
  });

  it("lets admin raters edit the prompt pool and no one else", async () => {
    const { cookie: raterCookie } = await loginAs("web:dave");
    await expectError(await page("POST", "/prompts", { cookie: raterCookie, json: { text: "新的提示" } }), 403, "forbidden");
    const { cookie } = await loginAs("web:erin", "admin");
    const created = await body(await page("POST", "/prompts", { cookie, json: { text: "这款耳机音质很" } }));
    expect(created).toMatchObject({ text: "这款耳机音质很", active: true, source: "web" });
    await expectError(await page("POST", "/prompts", { cookie, json: { text: "这款耳机音质很" } }), 409, "conflict");
    const off = await body(await page("PATCH", `/prompts/${created.id}`, { cookie, json: { active: false } }));
    expect(off.active).toBe(false);
    await expectNothingStored(async () => {
      await expectError(await page("POST", "/prompts", { cookie, json: { text: "" } }), 400, "invalid_request");
      await expectError(await page("PATCH", `/prompts/${created.id}`, { cookie, json: { active: "no" } }), 400, "invalid_request");
      await expectError(await page("PATCH", "/prompts/999999", { cookie, json: { active: true } }), 404, "not_found");
    });
    const { items } = await body(await page("GET", "/prompts", { cookie }));
    expect(items.some((p: { id: number }) => p.id === created.id)).toBe(true);
  });

  it("shows admins every rater's reliability and lets them block and unblock others, never themselves", async () => {
    const { cookie: raterCookie, rater: plain } = await loginAs("web:hank");
    await expectError(await page("GET", "/raters-quality", { cookie: raterCookie }), 403, "forbidden");
    await expectError(await page("PATCH", `/raters/${plain.id}`, { cookie: raterCookie, json: { blocked: false } }), 403, "forbidden");
    await expectError(await page("GET", "/raters-quality"), 401, "unauthorized");

    const { cookie, rater: admin } = await loginAs("web:iris", "admin");
    const bytes = Uint8Array.from({ length: 300 }, (_, i) => (i * 11 + 1) % 249);
    const digest = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((x) => x.toString(16).padStart(2, "0")).join("");
    const metrics = {
      [`reliability/rater_${plain.id}`]: 0.62,
      [`reliability_judgements/rater_${plain.id}`]: 48,
      [`held_out_accuracy/rater_${plain.id}`]: 0.7,
      [`held_out_pairs/rater_${plain.id}`]: 10,
      "agreement/model_rater_tau": 0.3,
      "agreement/rater_rater_tau": 0.45,
      "agreement/shared_pairs": 12,
    };
    const meta = await callJson("POST", "/v1/checkpoints", 201, {
      as: "trainer",
      json: { kind: "reward", sha256: digest, sizeBytes: bytes.byteLength, metrics, config: {} },
    });
    await callJson("PUT", `/v1/checkpoints/${meta.id}/file`, 200, { as: "trainer", body: bytes, headers: { "content-length": String(bytes.byteLength) } });
    await callJson("POST", `/v1/checkpoints/${meta.id}/activate`, 200, { as: "trainer" });

    const quality = await body(await page("GET", "/raters-quality", { cookie }));
    expect(quality).toMatchObject({ checkpointId: meta.id, version: meta.version, modelRaterTau: 0.3, raterRaterTau: 0.45, sharedPairs: 12 });
    expect(quality.raters).toContainEqual({
      raterId: plain.id,
      displayName: null,
      role: "rater",
      blocked: false,
      reliability: 0.62,
      reliabilityWeight: null,
      judgements: 48,
      goldJudgements: null,
      heldOutAccuracy: 0.7,
      heldOutPairs: 10,
    });
    expect(quality.raters).toContainEqual(expect.objectContaining({ raterId: admin.id, role: "admin", reliability: null }));
    // The same figures as the admin token's /v1/stats.
    expect((await callJson("GET", "/v1/stats", 200)).raterQuality).toEqual(quality);

    const blocked = await body(await page("PATCH", `/raters/${plain.id}`, { cookie, json: { blocked: true } }));
    expect(blocked).toEqual({ id: plain.id, displayName: null, role: "rater", blocked: true });
    // The blocked rater's login stops working, and the table says so.
    await expectError(await page("GET", "/me", { cookie: raterCookie }), 401, "unauthorized");
    expect((await body(await page("GET", "/raters-quality", { cookie }))).raters).toContainEqual(expect.objectContaining({ raterId: plain.id, blocked: true }));
    expect(await body(await page("PATCH", `/raters/${plain.id}`, { cookie, json: { blocked: false } }))).toMatchObject({ blocked: false });
    expect((await page("GET", "/me", { cookie: raterCookie })).status).toBe(200);

    await expectNothingStored(async () => {
      await expectError(await page("PATCH", `/raters/${admin.id}`, { cookie, json: { blocked: true } }), 409, "conflict");
      await expectError(await page("PATCH", "/raters/999999", { cookie, json: { blocked: true } }), 404, "not_found");
      for (const json of [{}, { blocked: "yes" }, { blocked: true, role: "admin" }, { role: "rater" }]) {
        await expectError(await page("PATCH", `/raters/${plain.id}`, { cookie, json }), 400, "invalid_request");
      }
      await expectError(await page("PATCH", "/raters/abc", { cookie, json: { blocked: true } }), 400, "invalid_request");
      await expectError(
        await page("PATCH", `/raters/${plain.id}`, { cookie, json: { blocked: true }, headers: { origin: "https://evil.example" } }),
        403,
        "forbidden",
      );
    });
    expect((await page("GET", "/me", { cookie: raterCookie })).status).toBe(200);
    expect((await page("GET", "/me", { cookie })).status).toBe(200);
  });

  it("shows every rater the live agreement and their own held-out accuracy, and no one else's", async () => {
    const { cookie, rater: me } = await loginAs("web:jun");
    const { rater: other } = await loginAs("web:kai");
    const bytes = Uint8Array.from({ length: 200 }, (_, i) => (i * 7 + 3) % 251);
    const digest = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((x) => x.toString(16).padStart(2, "0")).join("");
    const metrics = {
      [`held_out_accuracy/rater_${me.id}`]: 0.8,
      [`held_out_pairs/rater_${me.id}`]: 20,
      [`held_out_accuracy/rater_${other.id}`]: 0.4,
      [`reliability/rater_${other.id}`]: 0.5,
      "agreement/model_rater_tau": 0.25,
      "agreement/rater_rater_tau": 0.5,
      "agreement/shared_pairs": 30,
    };
    const meta = await callJson("POST", "/v1/checkpoints", 201, {
      as: "trainer",
      json: { kind: "reward", sha256: digest, sizeBytes: bytes.byteLength, metrics },
    });
    await callJson("PUT", `/v1/checkpoints/${meta.id}/file`, 200, { as: "trainer", body: bytes, headers: { "content-length": String(bytes.byteLength) } });
    await callJson("POST", `/v1/checkpoints/${meta.id}/activate`, 200, { as: "trainer" });
    const a = await body(await page("GET", "/agreement", { cookie }));
    expect(a).toMatchObject({ checkpointId: meta.id, version: meta.version, modelRaterTau: 0.25, raterRaterTau: 0.5, sharedPairs: 30 });
    expect(a.raters).toEqual([expect.objectContaining({ raterId: me.id, heldOutAccuracy: 0.8, heldOutPairs: 20, reliability: null })]);
    await expectError(await page("GET", "/agreement"), 401, "unauthorized");
  });
});
