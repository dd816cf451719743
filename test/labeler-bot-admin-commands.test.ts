/**
 * An admin's /stats table and /block, /unblock, for real: telegraf polling a Bot API
 * server on 127.0.0.1, the API Worker under wrangler dev with a local D1, and a reward
 * checkpoint whose stored reliabilities the API reads back.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Telegraf } from "telegraf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiClient } from "@ranklab/api/client";
import { trainerApi } from "@ranklab/gpu-trainer/ranklab-api";
import { createBot, loadBotConfig, ranklabApi, type BotContext } from "@ranklab/labeler-bot";
import { LocalRater, startLocalBotApi, type LocalBotApi } from "@ranklab/local-raters";
import { startApiDev, type ApiDev } from "../scripts/lib/api-dev.ts";
import { freePort } from "../scripts/lib/free-port.ts";
import { ProcessGroup } from "../scripts/lib/processes.ts";

const BOT_TOKEN = "123457:admin-test-token-abcdefghij";
const group = new ProcessGroup(() => {});
const home = mkdtempSync(join(tmpdir(), "ranklab-bot-admin-"));
let api: ApiDev;
let local: LocalBotApi;
let bot: Telegraf<BotContext> | undefined;
const ids = { ada: 0, pat: 0, tom: 0 };

const admin = () => createApiClient(api.url, api.tokens.ADMIN_API_TOKEN);
const raterRow = async (id: number) => (await (await admin().v1.raters.$get({ query: { limit: "200" } })).json()).items.find((r) => r.id === id)!;

beforeAll(async () => {
  process.env.RANKLAB_HOME = home;
  api = await startApiDev({ port: await freePort(), group, keep: (line) => !/\[wrangler:info\] (GET|POST|PUT|PATCH)/.test(line) });
  const asBot = createApiClient(api.url, api.tokens.BOT_API_TOKEN);
  for (const [name, tg] of [
    ["ada", 2001],
    ["pat", 2002],
    ["tom", 2003],
  ] as const) {
    ids[name] = (await (await asBot.v1.raters.$post({ json: { externalId: `tg:${tg}`, displayName: name } })).json()).id;
  }
  await admin().v1.raters[":id"].$patch({ param: { id: String(ids.ada) }, json: { role: "admin" } });
  // A live reward checkpoint that estimated Tom the least reliable, as the trainer stores it.
  const trainer = trainerApi(api.url, api.tokens.TRAINER_API_TOKEN);
  const archive = new TextEncoder().encode("a reward checkpoint archive for the bot's admin test");
  const metrics = {
    [`reliability/rater_${ids.tom}`]: 0.52,
    [`reliability_judgements/rater_${ids.tom}`]: 60,
    [`reliability_gold_judgements/rater_${ids.tom}`]: 6,
    [`reliability/rater_${ids.pat}`]: 0.9,
    [`held_out_accuracy/rater_${ids.pat}`]: 0.75,
    [`held_out_pairs/rater_${ids.pat}`]: 8,
    [`reliability/rater_${ids.ada}`]: 0.95,
  };
  const record = await trainer.recordCheckpoint({
    kind: "reward",
    sha256: createHash("sha256").update(archive).digest("hex"),
    sizeBytes: archive.byteLength,
    metrics,
    config: {},
  });
  await trainer.uploadCheckpoint(record.id, archive);
  await trainer.activateCheckpoint(record.id);

  local = await startLocalBotApi();
  const config = loadBotConfig({
    TELEGRAM_BOT_TOKEN: BOT_TOKEN,
    TELEGRAM_API_ROOT: local.apiRoot,
    RANKLAB_API_URL: api.url,
    RANKLAB_BOT_TOKEN: api.tokens.BOT_API_TOKEN,
    ALLOWED_TELEGRAM_IDS: "2001,2002,2003",
  });
  bot = createBot(config, ranklabApi(config.RANKLAB_API_URL, config.RANKLAB_BOT_TOKEN), { log: () => {} });
  void bot.launch().catch(() => {});
}, 180_000);

afterAll(async () => {
  bot?.stop("test");
  await local?.stop();
  await group.stop();
  rmSync(home, { recursive: true, force: true });
});

describe("the bot's admin commands", () => {
  it("shows a rater their own reliability and no table, and refuses their /block", async () => {
    const pat = new LocalRater(local, BOT_TOKEN, 2002, "Pat");
    await pat.command("/stats");
    const stats = await pat.waitFor((ms) => ms.find((m) => m.text.startsWith("打分 Scores")), "the stats");
    expect(stats.text).toContain("你的可靠性 Your reliability: 0.90");
    await pat.command(`/block ${ids.tom}`);
    await pat.waitFor((ms) => ms.find((m) => m.text.includes("Only admins may block or unblock raters")), "the refusal");
    expect(pat.messages().some((m) => m.text.includes("Rater reliability"))).toBe(false);
    expect((await raterRow(ids.tom)).blocked).toBe(false);
  });

  it("shows an admin every rater's reliability, least reliable first, and lets them block and unblock", async () => {
    const ada = new LocalRater(local, BOT_TOKEN, 2001, "Ada");
    await ada.command("/stats");
    const table = await ada.waitFor((ms) => ms.find((m) => m.text.startsWith("可靠性 Rater reliability")), "the reliability table");
    const lines = table.text.split("\n");
    expect(lines[0]).toMatch(/^可靠性 Rater reliability \(reward model v\d+\), 3 raters, 0 blocked:$/);
    expect(lines[1]).toBe(`#${ids.tom} tom: 0.52 (60 判断 judgements, 6 gold)`);
    expect(lines[2]).toBe(`#${ids.pat} pat: 0.90 (模型一致 model agrees 75% of 8)`);
    expect(lines[3]).toBe(`#${ids.ada} ada: 0.95 · admin`);

    // Bad input: a clear answer, nothing changed.
    for (const [command, answer] of [
      ["/block", "Usage: /block <"],
      ["/block tom", "Usage: /block <"],
      ["/unblock 1 2", "Usage: /unblock <"],
      ["/block 999999", "There is no rater 999999"],
      [`/block ${ids.ada}`, "An admin cannot block themselves"],
    ] as const) {
      const before = ada.messages().length;
      await ada.command(command);
      await ada.waitFor((ms) => ms.length > before && ms.at(-1)!.text.includes(answer), `the answer to ${command}`);
    }
    expect((await raterRow(ids.ada)).blocked).toBe(false);

    await ada.command(`/block ${ids.tom}`);
    await ada.waitFor((ms) => ms.find((m) => m.text.includes(`Rater #${ids.tom} is blocked`)), "the block");
    expect((await raterRow(ids.tom)).blocked).toBe(true);
    const tom = new LocalRater(local, BOT_TOKEN, 2003, "Tom");
    await tom.command("/start");
    await tom.waitFor((ms) => ms.find((m) => m.text.includes("Your account is disabled")), "the blocked notice");
    await ada.command("/stats");
    await ada.waitFor(
      (ms) => ms.find((m) => m.text.includes("1 blocked:") && m.text.includes(`#${ids.tom} tom: 0.52 (60 判断 judgements, 6 gold) ⛔ 已停用 blocked`)),
      "the table with the block",
    );

    await ada.command(`/unblock ${ids.tom}`);
    await ada.waitFor((ms) => ms.find((m) => m.text.includes(`Rater #${ids.tom} is unblocked`)), "the unblock");
    expect((await raterRow(ids.tom)).blocked).toBe(false);
  });
});
