/**
 * Label ingestion against `wrangler dev` on loopback: 16 concurrent clients submit
 * new scores (each an INSERT into D1 after the rater and completion checks) for a
 * bounded time, next to the same load on GET /health, the cheapest route (the ceiling).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApiClient } from "@ranklab/api/client";
import { startApiDev } from "../lib/api-dev.ts";
import { freePort } from "../lib/free-port.ts";
import { ProcessGroup } from "../lib/processes.ts";
import { closedLoop, formatLoad } from "./load.ts";

const CLIENTS = 16;

export async function benchLabelIngestion(seconds: number): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), "ranklab-bench-"));
  process.env.RANKLAB_HOME = home;
  const group = new ProcessGroup(() => {});
  try {
    const api = await startApiDev({ port: await freePort(), group });
    const admin = createApiClient(api.url, api.tokens.ADMIN_API_TOKEN);
    const bot = createApiClient(api.url, api.tokens.BOT_API_TOKEN);
    const trainer = createApiClient(api.url, api.tokens.TRAINER_API_TOKEN);

    // Enough distinct completions that every client's every request is a new score.
    const prompt = await (await admin.v1.prompts.$post({ json: { prompts: [{ text: "刚收到货，感觉有" }] } })).json();
    const promptId = prompt.prompts[0]!.id;
    const completionIds: number[] = [];
    for (let batch = 0; batch < 8; batch++) {
      const res = await trainer.v1.completions.$post({
        json: { completions: Array.from({ length: 500 }, (_, i) => ({ promptId, text: `续写 ${batch}-${i}：质量不错，物流很快` })) },
      });
      completionIds.push(...(await res.json()).completions.map((c) => c.id));
    }
    const raterIds: number[] = [];
    for (let i = 0; i < CLIENTS; i++) raterIds.push((await (await bot.v1.raters.$post({ json: { externalId: `tg:bench${i}` } })).json()).id);

    const headers = { authorization: `Bearer ${api.tokens.BOT_API_TOKEN}`, "content-type": "application/json" };
    const warm = await closedLoop(CLIENTS, 1, () => fetch(`${api.url}/health`));
    void warm;
    const ceiling = await closedLoop(CLIENTS, seconds, () => fetch(`${api.url}/health`));
    const ingest = await closedLoop(CLIENTS, seconds, (client, i) => {
      const completionId = completionIds[i];
      if (completionId === undefined) return undefined;
      const body = JSON.stringify({ raterId: raterIds[client], completionId, value: (i % 5) / 4, source: "telegram" });
      return fetch(`${api.url}/v1/scores`, { method: "POST", headers, body });
    });

    const stats = await (await admin.v1.stats.$get()).json();
    console.log(`label ingestion (wrangler dev + local D1, ${CLIENTS} clients, ${seconds} s each, 127.0.0.1)`);
    console.log(`  ${formatLoad("GET /health (baseline, ceiling)", ceiling)}`);
    console.log(`  ${formatLoad("POST /v1/scores (new score each)", ingest)}`);
    console.log(
      `  ratio scores/health throughput: ${(ingest.perSecond / ceiling.perSecond).toFixed(3)}   p50 latency ratio: ${(ingest.p50Ms / ceiling.p50Ms).toFixed(2)}x`,
    );
    console.log(`  check: ${stats.totals.scores} scores stored for ${ingest.requests - ingest.errors} accepted requests`);
    if (stats.totals.scores !== ingest.requests - ingest.errors) throw new Error("stored scores differ from accepted requests");
  } finally {
    await group.stop();
    rmSync(home, { recursive: true, force: true });
  }
}
