import type { Telegraf } from "telegraf";
import { reliabilityTable } from "./admin-commands.ts";
import type { BotConfig } from "./config.ts";
import type { BotFeatures } from "./next-task.ts";
import type { BotContext } from "./session.ts";
import { TEXT } from "./texts.ts";

/** /start registers a rater (allowed ids or the invite code) and shows a task. */
function start(bot: Telegraf<BotContext>, config: BotConfig, f: BotFeatures) {
  bot.start(async (ctx) => {
    const from = ctx.from;
    let raterId = await f.rater(ctx);
    if (!raterId) {
      const invited = config.INVITE_CODE !== undefined && ctx.payload === config.INVITE_CODE;
      if (!config.ALLOWED_TELEGRAM_IDS.includes(from.id) && !invited) {
        await ctx.reply(TEXT.notAllowed);
        return;
      }
      const registered = await f.api.registerRater(`tg:${from.id}`, [from.first_name, from.last_name].filter(Boolean).join(" ") || from.username);
      if (registered.blocked) {
        await ctx.reply(TEXT.blocked);
        return;
      }
      raterId = ctx.session.raterId = registered.id;
      f.log(`registered rater ${raterId} (tg:${from.id})`);
    }
    await ctx.reply(TEXT.welcome);
    await f.showNext(ctx, "new");
  });
}

/** /stats: the rater's counts, agreement with others and with the live reward model; an admin also gets every rater's reliability. */
function stats(bot: Telegraf<BotContext>, f: BotFeatures) {
  bot.command("stats", async (ctx) => {
    const raterId = await f.rater(ctx);
    if (!raterId) return void (await ctx.reply(TEXT.notAllowed));
    const s = await f.api.stats(raterId);
    const agreement = [
      s.agreement.scorePairs > 0
        ? `打分平均差 score mean abs. difference ${s.agreement.scoreMeanAbsDiff!.toFixed(3)} (${s.agreement.scorePairs} pairs)`
        : "打分一致性：暂无 score agreement: none yet",
      s.agreement.rankPairs > 0
        ? `排序 Kendall τ ${s.agreement.rankKendallTau!.toFixed(3)} (${s.agreement.rankPairs} pairs)`
        : "排序一致性：暂无 rank agreement: none yet",
    ];
    // The live reward model against this rater, on labels it never trained on, beside how raters agree with each other.
    const rm = s.rewardModel;
    const mine = rm?.perRater[0];
    const model = rm
      ? [
          mine?.accuracy != null
            ? `奖励模型与你一致 reward model agrees with you: ${(mine.accuracy * 100).toFixed(1)}% (${mine.pairs} pairs)`
            : "奖励模型与你：暂无 reward model vs you: none yet",
          rm.modelRaterTau != null && rm.raterRaterTau != null
            ? `模型–标注员 τ ${rm.modelRaterTau.toFixed(3)} · 标注员之间 τ ${rm.raterRaterTau.toFixed(3)} (model–rater vs rater–rater, ${rm.sharedPairs} pairs)`
            : undefined,
        ].filter((line): line is string => line !== undefined)
      : [];
    // An admin also sees every rater's reliability (the API lists them all only for an admin rater).
    const me = s.raterQuality.raters.find((r) => r.raterId === raterId);
    const reliability = me?.reliability != null ? [`你的可靠性 Your reliability: ${me.reliability.toFixed(2)}`] : [];
    await ctx.reply([`打分 Scores: ${s.scores}`, `排序 Rankings: ${s.rankings}`, ...agreement, ...model, ...reliability].join("\n"));
    if (me?.role === "admin") await ctx.reply(reliabilityTable(s.raterQuality));
  });
}

/** /export (the admins in ADMIN_TELEGRAM_IDS): the rank lists as TSV, in the chat when short, as a file when long. */
function exportRankings(bot: Telegraf<BotContext>, config: BotConfig, f: BotFeatures) {
  bot.command("export", async (ctx) => {
    if (!config.ADMIN_TELEGRAM_IDS.includes(ctx.from.id)) return void (await ctx.reply(TEXT.adminOnly));
    const tsv = await f.api.exportTsv();
    if (tsv.trim() === "") return void (await ctx.reply(TEXT.exportEmpty));
    const lines = tsv.trimEnd().split("\n").length;
    if (tsv.length <= 3500) await ctx.reply(`rankings.tsv (${lines} lines)\n${tsv}`);
    else await ctx.replyWithDocument({ source: Buffer.from(tsv, "utf8"), filename: "rankings.tsv" }, { caption: `${lines} rank lists` });
  });
}

/** Every rater's commands: /start, /help, /stats, /export (the admins' /block and /unblock are admin-commands.ts's). */
export function registerCommands(bot: Telegraf<BotContext>, config: BotConfig, f: BotFeatures): void {
  start(bot, config, f);
  bot.command("help", (ctx) => ctx.reply(TEXT.help));
  stats(bot, f);
  exportRankings(bot, config, f);
}
