import type { BotFeatures } from "./next-task.ts";
import type { BotContext, CurrentTask } from "./session.ts";
import { TEXT } from "./texts.ts";

/**
 * A tap on a score task's keyboard: 1–5 stars store the score (0, 0.25, … 1) through the
 * API, "skip" remembers the completion so it is not offered again; either way the next
 * task replaces this one in the same message.
 */
export async function answerScoreTap(f: BotFeatures, ctx: BotContext, current: Extract<CurrentTask, { kind: "score" }>, action: string): Promise<void> {
  if (action === "skip") {
    ctx.session.skipped = [...(ctx.session.skipped ?? []), current.completionId].slice(-100);
    await ctx.answerCbQuery(TEXT.skipped);
  } else {
    const stars = Number(action);
    if (!Number.isInteger(stars) || stars < 1 || stars > 5) return void (await ctx.answerCbQuery(TEXT.stale));
    await f.api.score(ctx.session.raterId!, current.completionId, (stars - 1) / 4);
    await ctx.answerCbQuery(`${TEXT.saved}: ${stars}`);
  }
  await f.showNext(ctx, "edit");
}
