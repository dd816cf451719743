import type { Task } from "@ranklab/api";
import type { RanklabApi } from "./ranklab-api.ts";
import { newTaskId, type BotContext, type CurrentTask } from "./session.ts";
import { renderTask } from "./task-view.ts";
import { TEXT } from "./texts.ts";

/** What every feature of the bot shares: the API, the log, who the chat's rater is, and how to show the next task. */
export interface BotFeatures {
  api: RanklabApi;
  log: (line: string) => void;
  /** The rater behind this chat, registered before (the session may be new after a restart); undefined when unknown or blocked. */
  rater(ctx: BotContext): Promise<number | undefined>;
  /** Shows the next task: a new message, or the task message edited in place. */
  showNext(ctx: BotContext, how: "new" | "edit"): Promise<void>;
}

function toCurrent(task: Task): CurrentTask {
  return task.kind === "score"
    ? { id: newTaskId(), kind: "score", promptText: task.prompt.text, completionId: task.completion.id, completionText: task.completion.text }
    : { id: newTaskId(), kind: "rank", promptId: task.prompt.id, promptText: task.prompt.text, options: task.completions, picked: [], ties: [] };
}

export function botFeatures(api: RanklabApi, log: (line: string) => void): BotFeatures {
  return {
    api,
    log,
    async rater(ctx) {
      if (ctx.session.raterId) return ctx.session.raterId;
      const found = await api.findRater(`tg:${ctx.from!.id}`);
      if (!found || found.blocked) return undefined;
      ctx.session.raterId = found.id;
      return found.id;
    },
    async showNext(ctx, how) {
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
    },
  };
}
