import type { BotFeatures } from "./next-task.ts";
import { levelsOf, type BotContext, type CurrentTask } from "./session.ts";
import { renderTask } from "./task-view.ts";
import { TEXT } from "./texts.ts";

type RankTask = Extract<CurrentTask, { kind: "rank" }>;

/**
 * The rank in progress after one tap, or undefined for a tap that does not fit it (a stale
 * keyboard). "3" places option 3 below the previous place, "t3" as good as the previous
 * (a tie); "undo" takes the last tap back; "tl" on the confirm screen toggles whether the
 * last place ties with the one before. The last place is filled for the rater.
 */
export function applyRankTap(current: RankTask, action: string): RankTask | undefined {
  const n = current.options.length;
  const ties = current.ties ?? [];
  if (action === "undo") {
    // The last place was filled for the rater, not tapped: undo takes it back with the tap before it.
    const keep = current.picked.length === n ? n - 2 : Math.max(0, current.picked.length - 1);
    return { ...current, picked: current.picked.slice(0, keep), ties: ties.slice(0, keep) };
  }
  if (action === "tl") {
    if (current.picked.length !== n || n < 2) return undefined;
    return { ...current, ties: [...ties.slice(0, n - 1), !ties[n - 1]] };
  }
  const tie = action.startsWith("t");
  const i = Number(tie ? action.slice(1) : action);
  if (!Number.isInteger(i) || i < 0 || i >= n || current.picked.includes(i) || (tie && current.picked.length === 0)) return undefined;
  const picked = [...current.picked, i];
  const nextTies = [...ties.slice(0, picked.length - 1), tie];
  if (picked.length === n - 1) {
    picked.push([...Array(n).keys()].find((k) => !picked.includes(k))!);
    nextTies.push(false);
  }
  return { ...current, picked, ties: nextTies };
}

/** A tap on a rank task's keyboard: "save" stores the full order (with levels when there are ties) and shows the next task; any other tap updates the message in place. */
export async function answerRankTap(f: BotFeatures, ctx: BotContext, current: RankTask, action: string): Promise<void> {
  const n = current.options.length;
  if (action === "save") {
    if (current.picked.length !== n) return void (await ctx.answerCbQuery(TEXT.stale));
    const levels = levelsOf(current.ties ?? [], n);
    // Without a tie the API gets a plain order, as before ties existed.
    await f.api.rank(
      ctx.session.raterId!,
      current.promptId,
      current.picked.map((i) => current.options[i]!.id),
      levels.at(-1) === n - 1 ? undefined : levels,
    );
    await ctx.answerCbQuery(TEXT.saved);
    await f.showNext(ctx, "edit");
    return;
  }
  const next = applyRankTap(current, action);
  if (!next) return void (await ctx.answerCbQuery(TEXT.stale));
  ctx.session.current = next;
  const view = renderTask(next);
  await ctx.editMessageText(view.text, { reply_markup: view.keyboard });
  await ctx.answerCbQuery();
}
