import { Telegraf } from "telegraf";
import { registerAdminCommands } from "./admin-commands.ts";
import { registerCommands } from "./commands.ts";
import type { BotConfig } from "./config.ts";
import { oneAtATimePerChat, sessionInApi } from "./middleware.ts";
import { botFeatures } from "./next-task.ts";
import { answerRankTap } from "./rank-flow.ts";
import { ApiUnavailable, type RanklabApi } from "./ranklab-api.ts";
import { answerScoreTap } from "./score-flow.ts";
import type { BotContext } from "./session.ts";
import { parseCallback } from "./task-view.ts";
import { TEXT } from "./texts.ts";

export type { BotContext } from "./session.ts";

export interface BotOptions {
  log?: (line: string) => void;
}

/**
 * The labeler bot: /start registers a rater and shows a task; score and rank tasks
 * come from the API and are answered with inline keyboards, edited in place; labels
 * are stored only through the API, and sessions live in D1 through it too. The parts:
 * middleware.ts (one update per chat, the session in the API), commands.ts and
 * admin-commands.ts (the commands), score-flow.ts and rank-flow.ts (the taps).
 */
export function createBot(config: BotConfig, api: RanklabApi, options: BotOptions = {}): Telegraf<BotContext> {
  const log = options.log ?? ((line: string) => console.log(line));
  const bot = new Telegraf<BotContext>(config.TELEGRAM_BOT_TOKEN, { telegram: { apiRoot: config.TELEGRAM_API_ROOT } });
  const features = botFeatures(api, log);

  bot.use(oneAtATimePerChat());
  bot.use(sessionInApi(api));
  registerCommands(bot, config, features);
  registerAdminCommands(bot, api, features.rater, log);

  bot.on("callback_query", async (ctx) => {
    const parsed = parseCallback("data" in ctx.callbackQuery ? ctx.callbackQuery.data : "");
    const current = ctx.session.current;
    // A double tap's second delivery, or an old message's keyboard: nothing to do but say so.
    if (!parsed || !current || current.id !== parsed.taskId || (await features.rater(ctx)) === undefined) return void (await ctx.answerCbQuery(TEXT.stale));
    if (current.kind === "score" && parsed.kind === "sc") return answerScoreTap(features, ctx, current, parsed.action);
    if (current.kind === "rank" && parsed.kind === "rk") return answerRankTap(features, ctx, current, parsed.action);
    await ctx.answerCbQuery(TEXT.stale);
  });

  // Unknown commands and free text get the help.
  bot.on("message", (ctx) => ctx.reply(TEXT.help));

  bot.catch(async (err, ctx) => {
    if (err instanceof ApiUnavailable) log(`API unavailable: ${err.message}`);
    else log(`error handling update ${ctx.update.update_id}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    try {
      if (ctx.callbackQuery) await ctx.answerCbQuery(TEXT.unavailable).catch(() => {});
      await ctx.reply(TEXT.unavailable);
    } catch {
      // Telegram itself is unreachable; nothing more to do for this update.
    }
  });
  return bot;
}
