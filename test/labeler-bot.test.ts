/**
 * The Telegram labeler bot, for real: telegraf polling a Bot API server on 127.0.0.1
 * (telegram-test-api), the API Worker under wrangler dev with a local D1, and raters
 * who send commands and tap buttons. The bot reaches the API through a proxy the test
 * can switch off, to show what a rater sees when the API is down.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Telegraf } from "telegraf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiClient } from "@ranklab/api/client";
import { createBot, loadBotConfig, ranklabApi, type BotContext } from "@ranklab/labeler-bot";
import { LocalRater, startLocalBotApi, type LocalBotApi } from "@ranklab/local-raters";
import { startApiDev, type ApiDev } from "../scripts/lib/api-dev.ts";
import { freePort } from "../scripts/lib/free-port.ts";
import { ProcessGroup } from "../scripts/lib/processes.ts";

const BOT_TOKEN = "123456:local-test-token-abcdefghij";
const group = new ProcessGroup(() => {});
const home = mkdtempSync(join(tmpdir(), "ranklab-bot-"));
let api: ApiDev;
let local: LocalBotApi;
let proxy: Server;
let apiDown = false;
let bot: Telegraf<BotContext> | undefined;
const botLog: string[] = [];

/** Forwards to the API, or answers 503 while `apiDown`. */
async function startApiProxy(target: string): Promise<string> {
  const upstream = new URL(target);
  proxy = createServer((req, res) => {
    // Down: what the edge answers when the Worker or D1 fails.
    if (apiDown) return void res.writeHead(503, { "content-type": "text/plain" }).end("service unavailable");
    const forward = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    forward.on("error", (err) => {
      botLog.push(`proxy: upstream error ${err.message}`);
      res.writeHead(502).end();
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
}

let proxyUrl: string;
let generations = 0;
async function startBot() {
  const config = loadBotConfig({
    TELEGRAM_BOT_TOKEN: BOT_TOKEN,
    TELEGRAM_API_ROOT: local.apiRoot,
    RANKLAB_API_URL: proxyUrl,
    RANKLAB_BOT_TOKEN: api.tokens.BOT_API_TOKEN,
    ALLOWED_TELEGRAM_IDS: "1001,1002,1003",
    INVITE_CODE: "join-ranklab",
    ADMIN_TELEGRAM_IDS: "1001",
  });
  bot = createBot(config, ranklabApi(config.RANKLAB_API_URL, config.RANKLAB_BOT_TOKEN), { log: (l) => botLog.push(l) });
  const generation = ++generations;
  const handle = bot.handleUpdate.bind(bot);
  bot.handleUpdate = (update, response) => {
    botLog.push(
      `bot #${generation} handles update ${update.update_id} ${Object.keys(update)
        .filter((k) => k !== "update_id")
        .join(",")}`,
    );
    return handle(update, response);
  };
  void bot.launch().catch((err) => botLog.push(`launch failed: ${String(err)}`));
}
function stopBot() {
  bot?.stop("test");
  bot = undefined;
}

const admin = () => createApiClient(api.url, api.tokens.ADMIN_API_TOKEN);
const trainer = () => createApiClient(api.url, api.tokens.TRAINER_API_TOKEN);

/** Adds a prompt with completions and makes it the only active one, so the next tasks are its own. */
async function addPrompt(text: string, completions: string[]) {
  const { items } = await (await admin().v1.prompts.$get({ query: { limit: "100" } })).json();
  for (const p of items.filter((x) => x.active)) await admin().v1.prompts[":id"].$patch({ param: { id: String(p.id) }, json: { active: false } });
  const { prompts } = await (await admin().v1.prompts.$post({ json: { prompts: [{ text }] } })).json();
  const res = await trainer().v1.completions.$post({ json: { completions: completions.map((c) => ({ promptId: prompts[0]!.id, text: c })) } });
  return { promptId: prompts[0]!.id, completions: (await res.json()).completions };
}

const button = (m: { keyboard: { text: string; data: string }[][] }, text: string) => {
  const b = m.keyboard.flat().find((x) => x.text === text);
  if (!b) throw new Error(`no button "${text}" in ${JSON.stringify(m.keyboard)}`);
  return b.data;
};

beforeAll(async () => {
  process.env.RANKLAB_HOME = home;
  api = await startApiDev({ port: await freePort(), group });
  proxyUrl = await startApiProxy(api.url);
  local = await startLocalBotApi();
  await startBot();
}, 180_000);

afterAll(async () => {
  if (process.env.DEBUG_BOT) console.log(botLog.join("\n"));
  stopBot();
  await local?.stop();
  await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
  await group.stop();
  rmSync(home, { recursive: true, force: true });
});

describe("the labeler bot", () => {
  it("registers a rater who scores 3 completions and ranks a group; D1 has the values and the order", async () => {
    // Only score tasks exist at first: three completions of a prompt (fewer than 4: no rank group).
    const scored = await addPrompt("这家店的外卖", ["很好吃，送得也快。", "一般般。", "太难吃了，差评。"]);
    const movie = ["非常精彩，强烈推荐！", "还不错。", "有点无聊。", "烂片，浪费时间。"];
    const mei = new LocalRater(local, BOT_TOKEN, 1001, "Mei");
    await mei.command("/start");
    await mei.waitFor((ms) => ms.find((m) => m.text.includes("Welcome to ranklab")), "the welcome");
    let task = await mei.waitForTask();
    const stars = new Map<number, number>();
    for (let i = 0; i < 3; i++) {
      expect(task.text).toMatch(/^打分 Score/);
      const completion = scored.completions.find((c) => task.text.includes(c.text))!;
      const n = completion.text.includes("好吃") ? 5 : completion.text.includes("一般") ? 3 : 1;
      stars.set(completion.id, n);
      const before = task.text;
      await mei.tap(task.messageId, button(task, String(n)));
      task = await mei.waitForTask(before);
      // Edited in place: the same message now shows the next task.
      expect(mei.messages().filter((m) => m.keyboard.length > 0 || m.text.startsWith("目前没有")).length).toBe(1);
    }
    expect(task.text).toMatch(/No tasks right now/);

    // Then a prompt with 4 completions: score tasks and a rank group. Score until the group comes up.
    const ranked = await addPrompt("这部电影", movie);
    await mei.command("/start");
    task = await mei.waitForTask(task.text);
    while (!task.text.startsWith("排序 Rank")) {
      const before = task.text;
      await mei.tap(task.messageId, button(task, "3"));
      task = await mei.waitForTask(before);
    }
    const letterOf = (t: string, text: string) => /^([A-D])\. /m.exec(t.split("\n").find((l) => l.includes(text))!)![1]!;
    for (const text of ranked.completions.slice(0, 3).map((c) => c.text)) {
      const shown = mei.messages().find((m) => m.messageId === task.messageId)!;
      await mei.tap(task.messageId, button(shown, letterOf(shown.text, text)));
      await mei.waitFor((ms) => ms.find((m) => m.messageId === task.messageId && m.text !== shown.text), "the rank to advance");
    }
    const confirm = mei.messages().find((m) => m.messageId === task.messageId)!;
    expect(confirm.text).toMatch(/Ranking complete; confirm: [A-D] > [A-D] > [A-D] > [A-D]/);
    await mei.tap(task.messageId, button(confirm, "保存 Save"));
    await mei.waitForTask(confirm.text);

    const rater = await (await admin().v1.raters["by-external"][":externalId"].$get({ param: { externalId: "tg:1001" } })).json();
    const { items: scores } = await (await admin().v1.scores.$get({ query: { raterId: String(rater.id) } })).json();
    const food = scores.filter((x) => stars.has(x.completionId));
    expect(new Map(food.map((x) => [x.completionId, x.value]))).toEqual(new Map([...stars].map(([id, n]) => [id, (n - 1) / 4])));
    expect(scores.every((s) => s.source === "telegram")).toBe(true);
    const { items: rankings } = await (await admin().v1.rankings.$get({ query: { raterId: String(rater.id) } })).json();
    expect(rankings).toHaveLength(1);
    expect(rankings[0]!.completions.map((c) => c.text)).toEqual(ranked.completions.map((c) => c.text));
  });

  it("stores one label for a double tap, and answers a stale keyboard with a notice", async () => {
    await addPrompt("这本书", ["写得真好。", "读不下去。"]);
    const lin = new LocalRater(local, BOT_TOKEN, 1002, "Lin");
    await lin.command("/start");
    const task = await lin.waitForTask();
    const data = button(task, "4");
    // Telegram may deliver the same tap twice.
    await lin.tap(task.messageId, data);
    await lin.tap(task.messageId, data);
    await lin.waitForTask(task.text);
    await expect.poll(() => local.callbackAnswers.some((a) => a.text?.includes("already done or has expired"))).toBe(true);
    const rater = await (await admin().v1.raters["by-external"][":externalId"].$get({ param: { externalId: "tg:1002" } })).json();
    const { items } = await (await admin().v1.scores.$get({ query: { raterId: String(rater.id) } })).json();
    expect(items).toHaveLength(1);
    expect(items[0]!.value).toBe(0.75);
  });

  it("continues a rank after the bot restarts (the session is in D1)", async () => {
    const ranked = await addPrompt("这家酒店", ["干净舒适，服务很好。", "还行吧。", "隔音很差。", "又脏又吵，再也不来。"]);
    const zhao = new LocalRater(local, BOT_TOKEN, 1003, "Zhao");
    await zhao.command("/start");
    let task = await zhao.waitFor((ms) => {
      const t = ms.at(-1);
      return t && (t.text.startsWith("排序") || t.text.startsWith("打分")) ? t : undefined;
    }, "a task");
    // Score the hotel's completions until its rank group comes up.
    while (!task.text.startsWith("排序")) {
      const before = task.text;
      await zhao.tap(task.messageId, task.text.startsWith("打分") ? button(task, "3") : task.keyboard[0]![0]!.data);
      task = await zhao.waitFor((ms) => ms.find((m) => m.messageId === task.messageId && m.text !== before), "the next step");
      if (task.text.includes("confirm:")) {
        const b = task.text;
        await zhao.tap(task.messageId, button(task, "保存 Save"));
        task = await zhao.waitFor((ms) => ms.find((m) => m.messageId === task.messageId && m.text !== b), "the next task");
      }
    }
    const letter = (text: string) => /^([A-D])\. /m.exec(task.text.split("\n").find((l) => l.includes(text))!)![1]!;
    await zhao.tap(task.messageId, button(task, letter(ranked.completions[0]!.text)));
    const afterFirst = await zhao.waitFor((ms) => ms.find((m) => m.messageId === task.messageId && m.text.includes("So far:")), "the first pick");

    stopBot();
    // The emulator ignores getUpdates' offset, so the stopped poller's last call could take
    // an update that Telegram would redeliver; let it finish before tapping again.
    await new Promise((r) => setTimeout(r, 800));
    await startBot();

    await zhao.tap(task.messageId, button(afterFirst, letter(ranked.completions[1]!.text)));
    const afterSecond = await zhao.waitFor(
      (ms) => ms.find((m) => m.messageId === task.messageId && m.text !== afterFirst.text),
      "the second pick, after the restart",
    );
    expect(afterSecond.text).toMatch(/So far: [A-D] > [A-D]/);
    await zhao.tap(task.messageId, button(afterSecond, letter(ranked.completions[2]!.text)));
    const complete = await zhao.waitFor((ms) => ms.find((m) => m.messageId === task.messageId && m.text.includes("confirm:")), "the complete order");
    await zhao.tap(task.messageId, button(complete, "保存 Save"));
    await zhao.waitFor((ms) => ms.find((m) => m.messageId === task.messageId && !m.text.startsWith("排序")), "the next task");
    const rater = await (await admin().v1.raters["by-external"][":externalId"].$get({ param: { externalId: "tg:1003" } })).json();
    const { items } = await (await admin().v1.rankings.$get({ query: { raterId: String(rater.id), promptId: String(ranked.promptId) } })).json();
    expect(items[0]!.completions.map((c) => c.text)).toEqual(ranked.completions.map((c) => c.text));
  });

  it("ranks with ties: = X places a completion as good as the previous, the last one's tie can be toggled, and D1 stores the levels", async () => {
    // No text ends with another (the test finds each option's letter by the end of its line).
    const ranked = await addPrompt("这台咖啡机", ["很好用，推荐！", "也不错，推荐。", "一般。", "还行吧。"]);
    const lin = new LocalRater(local, BOT_TOKEN, 1002, "Lin");
    await lin.command("/start");
    let task = await lin.waitFor((ms) => {
      const t = ms.at(-1);
      return t && (t.text.startsWith("排序") || t.text.startsWith("打分")) && t.text.includes("咖啡机") ? t : undefined;
    }, "a coffee task");
    while (!task.text.startsWith("排序")) {
      const before = task.text;
      await lin.tap(task.messageId, button(task, "3"));
      task = await lin.waitFor((ms) => ms.find((m) => m.messageId === task.messageId && m.text !== before), "the next step");
    }
    const letter = (text: string) => /^([A-D])\. /m.exec(task.text.split("\n").find((l) => l.endsWith(text))!)![1]!;
    const [a, b, c, d] = ranked.completions.map((x) => letter(x.text));
    const step = async (label: string) => {
      const shown = lin.messages().find((m) => m.messageId === task.messageId)!;
      await lin.tap(task.messageId, button(shown, label));
      return lin.waitFor((ms) => ms.find((m) => m.messageId === task.messageId && m.text !== shown.text), `after ${label}`);
    };
    await step(a!);
    expect((await step(`= ${b}`)).text).toContain(`So far: ${a} = ${b}`);
    let confirm = await step(c!);
    expect(confirm.text).toContain(`confirm: ${a} = ${b} > ${c} > ${d}`);
    confirm = await step(`${d} = ${c} 一样好 equal`);
    expect(confirm.text).toContain(`confirm: ${a} = ${b} > ${c} = ${d}`);
    await step("保存 Save");
    const rater = await (await admin().v1.raters["by-external"][":externalId"].$get({ param: { externalId: "tg:1002" } })).json();
    const { items } = await (await admin().v1.rankings.$get({ query: { raterId: String(rater.id), promptId: String(ranked.promptId) } })).json();
    // Stored canonically: ties in id order.
    expect(items[0]!.completions.map((x) => [x.text, x.level])).toEqual(ranked.completions.map((x, i) => [x.text, i < 2 ? 0 : 1]));
  });

  it("tells the rater politely when the API is down, and nothing is lost when it is back", async () => {
    await addPrompt("这个耳机", ["音质很棒。", "有杂音。"]);
    const mei = new LocalRater(local, BOT_TOKEN, 1001, "Mei");
    await mei.command("/start");
    const task = await mei.waitFor((ms) => {
      const last = ms.at(-1);
      return last && last.keyboard.length > 0 && last.text.includes("这个耳机") ? last : undefined;
    }, "the headphones task");
    apiDown = true;
    await mei.tap(task.messageId, button(task, "5"));
    await mei.waitFor((ms) => ms.find((m) => m.text.includes("The service is unavailable")), "the retry message");
    apiDown = false;
    // The same keyboard still works: the tap was not lost, just not taken. Under load the local
    // Bot API emulator can hand the bot the refused tap twice (it ignores getUpdates' offset), so the
    // person taps again if the first tap after the outage is swallowed, as one would on Telegram.
    let advanced = false;
    for (let attempt = 0; attempt < 3 && !advanced; attempt++) {
      await mei.tap(task.messageId, button(task, "5"));
      advanced = await mei.waitForTask(task.text).then(
        () => true,
        () => false,
      );
    }
    expect(advanced).toBe(true);
    const rater = await (await admin().v1.raters["by-external"][":externalId"].$get({ param: { externalId: "tg:1001" } })).json();
    const { items } = await (await admin().v1.scores.$get({ query: { raterId: String(rater.id) } })).json();
    expect(items.filter((s) => s.value === 1).length).toBeGreaterThanOrEqual(1);
  });

  it("answers unknown commands and free text with help, keeps strangers out, and exports for admins", async () => {
    const stranger = new LocalRater(local, BOT_TOKEN, 4242, "Stranger");
    await stranger.command("/start");
    await stranger.waitFor((ms) => ms.find((m) => m.text.includes("invited raters only")), "the refusal");
    const invited = new LocalRater(local, BOT_TOKEN, 4343, "Invited");
    await invited.command("/start join-ranklab");
    await invited.waitFor((ms) => ms.find((m) => m.text.includes("Welcome to ranklab")), "the welcome by invite");
    await invited.command("/dance");
    await invited.say("你好");
    await invited.waitFor((ms) => ms.filter((m) => m.text.startsWith("用 /start 开始标注")).length >= 2 && true, "help twice");
    await invited.command("/export");
    await invited.waitFor((ms) => ms.find((m) => m.text.includes("Only admins may export")), "the admin-only notice");
    const mei = new LocalRater(local, BOT_TOKEN, 1001, "Mei");
    await mei.command("/export");
    const exported = await mei.waitFor((ms) => ms.find((m) => m.text.startsWith("rankings.tsv")), "the export");
    expect(exported.text).toContain("非常精彩，强烈推荐！\t还不错。\t有点无聊。\t烂片，浪费时间。");
    await mei.command("/stats");
    await mei.waitFor((ms) => ms.find((m) => /打分 Scores: \d+\n排序 Rankings: \d+/.test(m.text)), "the stats");
  });
});
