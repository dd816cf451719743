import { Telegraf, type MiddlewareFn } from "telegraf";
import type { BotConfig } from "./config.ts";
import type { Task } from "@ranklab/api";
import { ApiUnavailable, type RanklabApi } from "./ranklab-api.ts";
import { apiSessionStore, levelsOf, newTaskId, type BotContext, type CurrentTask } from "./session.ts";

/**
 * Loads the chat's session from the API before each update and saves it after, if it
 * changed. (Telegraf's own session middleware caches a failed load, so after one API
 * outage a chat would fail until the bot restarts; updates per chat are already one
 * at a time here, so no cache is needed.)
 */
function sessionInApi(api: RanklabApi): MiddlewareFn<BotContext> {
  const store = apiSessionStore(api);
  return async (ctx, next) => {
    const key = ctx.from && ctx.chat ? `${ctx.chat.id}:${ctx.from.id}` : undefined;
    if (!key) return next();
    const loaded = (await store.get(key)) ?? {};
    const before = JSON.stringify(loaded);
    ctx.session = loaded;
    await next();
    if (JSON.stringify(ctx.session) !== before) await store.set(key, ctx.session);
  };
}
import { reliabilityTable, registerAdminCommands } from "./admin-commands.ts";
import { parseCallback, renderTask } from "./task-view.ts";
import { TEXT } from "./texts.ts";

export type { BotContext } from "./session.ts";

export interface BotOptions {
  log?: (line: string) => void;
}

/** The longest an update holds its chat's queue: one stuck update (a call that never answers) must not freeze the chat. */
const QUEUE_HOLD_MS = 30_000;

/** One update at a time per chat: a double tap's two callbacks must not race on the same session. */
function oneAtATimePerChat(): MiddlewareFn<BotContext> {
  const queues = new Map<number, Promise<unknown>>();
  return async (ctx, next) => {
    const chat = ctx.chat?.id;
    if (chat === undefined) return next();
    const before = queues.get(chat) ?? Promise.resolve();
    const previous = Promise.race([before, new Promise((r) => setTimeout(r, QUEUE_HOLD_MS).unref())]);
    const run = previous.then(() => next());
    const settled = run.catch(() => {});
    queues.set(chat, settled);
    try {
      await run;
    } finally {
      if (queues.get(chat) === settled) queues.delete(chat);
    }
  };
}

function toCurrent(task: Task): CurrentTask {
  return task.kind === "score"
    ? { id: newTaskId(), kind: "score", promptText: task.prompt.text, completionId: task.completion.id, completionText: task.completion.text }
    : { id: newTaskId(), kind: "rank", promptId: task.prompt.id, promptText: task.prompt.text, options: task.completions, picked: [], ties: [] };
}

/**
 * The labeler bot: /start registers a rater and shows a task; score and rank tasks
 * come from the API and are answered with inline keyboards, edited in place; labels
 * are stored only through the API, and sessions live in D1 through it too.
 */
export function createBot(config: BotConfig, api: RanklabApi, options: BotOptions = {}): Telegraf<BotContext> {
  const log = options.log ?? ((line: string) => console.log(line));
  const bot = new Telegraf<BotContext>(config.TELEGRAM_BOT_TOKEN, { telegram: { apiRoot: config.TELEGRAM_API_ROOT } });

  bot.use(oneAtATimePerChat());
  bot.use(sessionInApi(api));

  /** The rater behind this chat, registered before (the session may be new after a restart). */
  async function rater(ctx: BotContext): Promise<number | undefined> {
    if (ctx.session.raterId) return ctx.session.raterId;
    const found = await api.findRater(`tg:${ctx.from!.id}`);
    if (!found || found.blocked) return undefined;
    ctx.session.raterId = found.id;
    return found.id;
  }

  /** Shows the next task: a new message, or the task message edited in place. */
  async function showNext(ctx: BotContext, how: "new" | "edit") {
    const { task } = await api.nextTask(ctx.session.raterId!, ctx.session.skipped ?? []);
    ctx.session.current = task ? toCurrent(task) : undefined;
    const view = ctx.session.current ? renderTask(ctx.session.current) : { text: TEXT.noTasks, keyboard: { inline_keyboard: [] } };
    if (how === "edit" && ctx.callbackQuery?.message) {
      await ctx.editMessageText(view.text, { reply_markup: view.keyboard });
      ctx.session.messageId = ctx.callbackQuery.message.message_id;
    } else {
      const sent = await ctx.reply(view.text, { reply_markup: view.keyboard });
      ctx.session.messageId = sent.message_id;
    }
  }

  bot.start(async (ctx) => {
    const from = ctx.from;
    let raterId = await rater(ctx);
    if (!raterId) {
      const invited = config.INVITE_CODE !== undefined && ctx.payload === config.INVITE_CODE;
      if (!config.ALLOWED_TELEGRAM_IDS.includes(from.id) && !invited) {
        await ctx.reply(TEXT.notAllowed);
        return;
      }
      const registered = await api.registerRater(`tg:${from.id}`, [from.first_name, from.last_name].filter(Boolean).join(" ") || from.username);
      if (registered.blocked) {
        await ctx.reply(TEXT.blocked);
        return;
      }
      raterId = ctx.session.raterId = registered.id;
      log(`registered rater ${raterId} (tg:${from.id})`);
    }
    await ctx.reply(TEXT.welcome);
    await showNext(ctx, "new");
  });

  bot.command("help", (ctx) => ctx.reply(TEXT.help));

  bot.command("stats", async (ctx) => {
    const raterId = await rater(ctx);
    if (!raterId) return void (await ctx.reply(TEXT.notAllowed));
    const s = await api.stats(raterId);
    const agreement = [
      s.agreement.scorePairs > 0 ? `打分平均差 score mean abs. difference ${s.agreement.scoreMeanAbsDiff!.toFixed(3)} (${s.agreement.scorePairs} pairs)` : "打分一致性：暂无 score agreement: none yet",
      s.agreement.rankPairs > 0 ? `排序 Kendall τ ${s.agreement.rankKendallTau!.toFixed(3)} (${s.agreement.rankPairs} pairs)` : "排序一致性：暂无 rank agreement: none yet",
    ];
    // The live reward model against this rater, on labels it never trained on, beside how raters agree with each other.
    const rm = s.rewardModel;
    const mine = rm?.perRater[0];
    const model = rm
      ? [
          mine?.accuracy != null ? `奖励模型与你一致 reward model agrees with you: ${(mine.accuracy * 100).toFixed(1)}% (${mine.pairs} pairs)` : "奖励模型与你：暂无 reward model vs you: none yet",
          rm.modelRaterTau != null && rm.raterRaterTau != null ? `模型–标注员 τ ${rm.modelRaterTau.toFixed(3)} · 标注员之间 τ ${rm.raterRaterTau.toFixed(3)} (model–rater vs rater–rater, ${rm.sharedPairs} pairs)` : undefined,
        ].filter((line): line is string => line !== undefined)
      : [];
    // An admin also sees every rater's reliability (the API lists them all only for an admin rater).
    const me = s.raterQuality.raters.find((r) => r.raterId === raterId);
    const reliability = me?.reliability != null ? [`你的可靠性 Your reliability: ${me.reliability.toFixed(2)}`] : [];
    await ctx.reply([`打分 Scores: ${s.scores}`, `排序 Rankings: ${s.rankings}`, ...agreement, ...model, ...reliability].join("\n"));
    if (me?.role === "admin") await ctx.reply(reliabilityTable(s.raterQuality));
  });

  registerAdminCommands(bot, api, rater, log);

  bot.command("export", async (ctx) => {
    if (!config.ADMIN_TELEGRAM_IDS.includes(ctx.from.id)) return void (await ctx.reply(TEXT.adminOnly));
    const tsv = await api.exportTsv();
    if (tsv.trim() === "") return void (await ctx.reply(TEXT.exportEmpty));
    const lines = tsv.trimEnd().split("\n").length;
    // Short exports read well in the chat; long ones go as a file.
    if (tsv.length <= 3500) await ctx.reply(`rankings.tsv (${lines} lines)\n${tsv}`);
    else await ctx.replyWithDocument({ source: Buffer.from(tsv, "utf8"), filename: "rankings.tsv" }, { caption: `${lines} rank lists` });
  });

  bot.on("callback_query", async (ctx) => {
    const data = "data" in ctx.callbackQuery ? ctx.callbackQuery.data : "";
    const parsed = parseCallback(data);
    const current = ctx.session.current;
    // A double tap's second delivery, or an old message's keyboard: nothing to do but say so.
    if (!parsed || !current || current.id !== parsed.taskId || (await rater(ctx)) === undefined) {
      await ctx.answerCbQuery(TEXT.stale);
      return;
    }
    const raterId = ctx.session.raterId!;
    if (current.kind === "score" && parsed.kind === "sc") {
      if (parsed.action === "skip") {
        ctx.session.skipped = [...(ctx.session.skipped ?? []), current.completionId].slice(-100);
        await ctx.answerCbQuery(TEXT.skipped);
      } else {
        const stars = Number(parsed.action);
        if (!Number.isInteger(stars) || stars < 1 || stars > 5) return void (await ctx.answerCbQuery(TEXT.stale));
        await api.score(raterId, current.completionId, (stars - 1) / 4);
        await ctx.answerCbQuery(`${TEXT.saved}: ${stars}`);
      }
      await showNext(ctx, "edit");
      return;
    }
    if (current.kind === "rank" && parsed.kind === "rk") {
      const n = current.options.length;
      if (parsed.action === "save") {
        if (current.picked.length !== n) return void (await ctx.answerCbQuery(TEXT.stale));
        const levels = levelsOf(current.ties ?? [], n);
        // Without a tie the API gets a plain order, as before ties existed.
        await api.rank(raterId, current.promptId, current.picked.map((i) => current.options[i]!.id), levels.at(-1) === n - 1 ? undefined : levels);
        await ctx.answerCbQuery(TEXT.saved);
        await showNext(ctx, "edit");
        return;
      }
      const ties = current.ties ?? [];
      if (parsed.action === "undo") {
        // The last place was filled for the rater, not tapped: undo takes it back with the tap before it.
        const keep = current.picked.length === n ? n - 2 : Math.max(0, current.picked.length - 1);
        current.picked = current.picked.slice(0, keep);
        current.ties = ties.slice(0, keep);
      } else if (parsed.action === "tl") {
        // On the confirm screen: the auto-placed last one ties with the one before it, or no longer does.
        if (current.picked.length !== n || n < 2) return void (await ctx.answerCbQuery(TEXT.stale));
        current.ties = [...ties.slice(0, n - 1), !ties[n - 1]];
      } else {
        // "3" places option 3 below the previous; "t3" places it as good as the previous.
        const tie = parsed.action.startsWith("t");
        const i = Number(tie ? parsed.action.slice(1) : parsed.action);
        if (!Number.isInteger(i) || i < 0 || i >= n || current.picked.includes(i) || (tie && current.picked.length === 0)) return void (await ctx.answerCbQuery(TEXT.stale));
        current.picked = [...current.picked, i];
        current.ties = [...ties.slice(0, current.picked.length - 1), tie];
        if (current.picked.length === n - 1) {
          current.picked.push([...Array(n).keys()].find((k) => !current.picked.includes(k))!);
          current.ties.push(false);
        }
      }
      ctx.session.current = { ...current };
      const view = renderTask(ctx.session.current);
      await ctx.editMessageText(view.text, { reply_markup: view.keyboard });
      await ctx.answerCbQuery();
      return;
    }
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
