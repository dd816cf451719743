import type { RaterQuality, RaterQualityReport } from "@ranklab/api";
import type { Telegraf } from "telegraf";
import type { BotContext } from "./session.ts";
import { ApiRefused, type RanklabApi } from "./ranklab-api.ts";
import { TEXT } from "./texts.ts";

/** How many of the least and of the most reliable raters the table shows. */
const SHOWN_EACH_END = 3;

const percent = (x: number) => `${(x * 100).toFixed(0)}%`;
const nameOf = (r: RaterQuality) => (r.displayName ? ` ${r.displayName.length > 24 ? `${r.displayName.slice(0, 23)}…` : r.displayName}` : "");

function line(r: RaterQuality): string {
  const figures = [
    r.judgements != null ? `${r.judgements} 判断 judgements${r.goldJudgements ? `, ${r.goldJudgements} gold` : ""}` : undefined,
    r.heldOutAccuracy != null ? `模型一致 model agrees ${percent(r.heldOutAccuracy)} of ${r.heldOutPairs ?? "?"}` : undefined,
  ].filter(Boolean);
  return `#${r.raterId}${nameOf(r)}: ${r.reliability!.toFixed(2)}${figures.length > 0 ? ` (${figures.join("; ")})` : ""}${r.blocked ? " ⛔ 已停用 blocked" : ""}${r.role === "admin" ? " · admin" : ""}`;
}

/**
 * The reliability table an admin's /stats shows: the least reliable raters first and the
 * most reliable last (all of them when there are few), the raters without an estimate
 * counted, and how to block. `report.raters` comes least reliable first from the API.
 * @example reliabilityTable(stats.raterQuality) // "可靠性 Rater reliability (reward model v3) …"
 */
export function reliabilityTable(report: RaterQualityReport): string {
  const rated = report.raters.filter((r) => r.reliability != null);
  const unrated = report.raters.length - rated.length;
  const blocked = report.raters.filter((r) => r.blocked).length;
  const head = `可靠性 Rater reliability${report.version != null ? ` (reward model v${report.version})` : ""}, ${report.raters.length} raters, ${blocked} blocked:`;
  if (rated.length === 0) return [head, TEXT.noReliability, TEXT.blockHelp].join("\n");
  const lines =
    rated.length <= 2 * SHOWN_EACH_END
      ? rated.map(line)
      : ["最低 Least reliable:", ...rated.slice(0, SHOWN_EACH_END).map(line), "最高 Most reliable:", ...rated.slice(-SHOWN_EACH_END).map(line)];
  return [head, ...lines, ...(unrated > 0 ? [`暂无估计 No estimate yet: ${unrated} raters`] : []), TEXT.blockHelp].join("\n");
}

/** `/block 12` → 12; anything else (no id, two ids, a name) → undefined. */
export function parseRaterArg(payload: string): number | undefined {
  const m = /^\s*#?([1-9][0-9]{0,14})\s*$/.exec(payload);
  return m ? Number(m[1]) : undefined;
}

/**
 * /block <rater id> and /unblock <rater id>: for raters with the admin role (as on the
 * web page); the API checks it and refuses an admin's blocking of themselves.
 */
export function registerAdminCommands(
  bot: Telegraf<BotContext>,
  api: RanklabApi,
  rater: (ctx: BotContext) => Promise<number | undefined>,
  log: (line: string) => void,
) {
  for (const [command, blocked] of [
    ["block", true],
    ["unblock", false],
  ] as const) {
    bot.command(command, async (ctx) => {
      const me = await rater(ctx);
      if (!me) return void (await ctx.reply(TEXT.notAllowed));
      const target = parseRaterArg(ctx.payload);
      if (target === undefined) return void (await ctx.reply(TEXT.blockUsage(command)));
      try {
        const updated = await api.setBlocked(target, blocked, me);
        log(`rater ${me} ${command}ed rater ${target}`);
        await ctx.reply(blocked ? TEXT.blockedOk(target, updated.displayName) : TEXT.unblockedOk(target, updated.displayName));
      } catch (err) {
        if (!(err instanceof ApiRefused)) throw err;
        if (err.status === 403) await ctx.reply(TEXT.blockAdminOnly);
        else if (err.status === 404) await ctx.reply(TEXT.noSuchRater(target));
        else if (err.status === 409) await ctx.reply(TEXT.cannotBlockSelf);
        else throw err;
      }
    });
  }
}
