/**
 * The API as `npm start` runs it: wrangler dev on 127.0.0.1, migrations applied by
 * `wrangler d1 migrations apply --local`, a local D1 and R2 on disk, driven from Node
 * through the typed `hc` client the bot and trainer use.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiClient } from "@ranklab/api/client";
import { SEED_PROMPTS } from "@ranklab/db";
import { seedPrompts, startApiDev, type ApiDev } from "../scripts/lib/api-dev.ts";
import { freePort } from "../scripts/lib/free-port.ts";
import { ProcessGroup } from "../scripts/lib/processes.ts";

const group = new ProcessGroup(() => {});
const home = mkdtempSync(join(tmpdir(), "ranklab-test-"));
let api: ApiDev;

beforeAll(async () => {
  process.env.RANKLAB_HOME = home;
  api = await startApiDev({ port: await freePort(), group });
}, 120_000);

afterAll(async () => {
  await group.stop();
  rmSync(home, { recursive: true, force: true });
});

describe("the API under wrangler dev", () => {
  it("runs a labeling round trip through the typed client", async () => {
    expect(await seedPrompts(api)).toBe(SEED_PROMPTS.length);
    expect(await seedPrompts(api)).toBe(0);
    const admin = createApiClient(api.url, api.tokens.ADMIN_API_TOKEN);
    const bot = createApiClient(api.url, api.tokens.BOT_API_TOKEN);
    const trainer = createApiClient(api.url, api.tokens.TRAINER_API_TOKEN);

    const prompt = await (await bot.v1.prompts.random.$get()).json();
    const posted = await trainer.v1.completions.$post({
      json: { generation: { temperature: 1 }, completions: ["质量很好", "还可以", "一般", "很差"].map((text) => ({ promptId: prompt.id, text })) },
    });
    expect(posted.status).toBe(201);

    const rater = await (await bot.v1.raters.$post({ json: { externalId: "tg:42" } })).json();
    const next = await (await bot.v1.tasks.next.$get({ query: { raterId: String(rater.id), kind: "rank" } })).json();
    if (!next.task || next.task.kind !== "rank") throw new Error(`expected a rank task, got ${JSON.stringify(next)}`);
    // The rater's order: best first, by the texts' meaning.
    const order = ["质量很好", "还可以", "一般", "很差"].map(
      (text) => next.task!.kind === "rank" && next.task.completions.find((c) => c.text === text)!.id,
    ) as number[];
    const ranked = await bot.v1.rankings.$post({ json: { raterId: rater.id, promptId: next.task.prompt.id, completionIds: order, source: "telegram" } });
    expect(ranked.status).toBe(201);

    const tsv = await (await admin.v1.exports["rankings.tsv"].$get({ query: {} })).text();
    expect(tsv).toBe("质量很好\t还可以\t一般\t很差\n");

    const lease = await (await trainer.v1.leases.$post({ json: { holder: "test-trainer" } })).json();
    expect(lease.rankings).toHaveLength(1);
    const ack = await trainer.v1.leases[":id"].ack.$post({ param: { id: lease.lease!.id }, json: {} });
    expect((await ack.json()).acknowledged).toEqual({ rankings: 1, scores: 0 });
  });

  it("stores a checkpoint file in the local R2 and serves it back", async () => {
    const trainer = createApiClient(api.url, api.tokens.TRAINER_API_TOKEN);
    const bytes = Buffer.from("ranklab checkpoint archive bytes ".repeat(1000));
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const meta = await (await trainer.v1.checkpoints.$post({ json: { kind: "reward", sha256, sizeBytes: bytes.byteLength } })).json();
    const upload = await fetch(`${api.url}/v1/checkpoints/${meta.id}/file`, {
      method: "PUT",
      headers: { authorization: `Bearer ${api.tokens.TRAINER_API_TOKEN}`, "content-length": String(bytes.byteLength) },
      body: bytes,
    });
    expect(upload.status).toBe(200);
    await trainer.v1.checkpoints[":id"].activate.$post({ param: { id: String(meta.id) } });
    const active = await (await trainer.v1.checkpoints.active[":kind"].$get({ param: { kind: "reward" } })).json();
    expect(active.id).toBe(meta.id);
    const download = await fetch(`${api.url}${active.fileUrl}`, { headers: { authorization: `Bearer ${api.tokens.BOT_API_TOKEN}` } });
    expect(Buffer.from(await download.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it("answers a malformed request with 400 and a wrong token with 401", async () => {
    const bad = await fetch(`${api.url}/v1/scores`, {
      method: "POST",
      headers: { authorization: `Bearer ${api.tokens.BOT_API_TOKEN}`, "content-type": "application/json" },
      body: "{",
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("malformed_json");
    const stranger = await fetch(`${api.url}/v1/stats`, { headers: { authorization: "Bearer guess" } });
    expect(stranger.status).toBe(401);
  });

  it("serves the page's script and chart library as static assets: JavaScript, nosniff, the script revalidated at each load", async () => {
    for (const path of ["/app/app.js", "/app/charts.js"]) {
      const res = await fetch(`${api.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type"), path).toMatch(/^(text|application)\/javascript/);
      expect(res.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect((await res.text()).length, path).toBeGreaterThan(5000);
    }
    // The page's own code changes with each deploy of its HTML: no hour-long cache for it, unlike the chart library.
    expect((await fetch(`${api.url}/app/app.js`)).headers.get("cache-control")).toBe("no-cache");
    expect((await fetch(`${api.url}/app/charts.js`)).headers.get("cache-control")).toBe("public, max-age=3600");
  });

  it("runs the cron trigger's handler, which requests no run without labels", async () => {
    const res = await fetch(`${api.url}/__scheduled?cron=${encodeURIComponent("*/5 * * * *")}`);
    expect(res.status).toBe(200);
    const admin = createApiClient(api.url, api.tokens.ADMIN_API_TOKEN);
    const runs = await (await admin.v1["training-runs"].$get({ query: {} })).json();
    expect(runs.items).toEqual([]);
  });
});
