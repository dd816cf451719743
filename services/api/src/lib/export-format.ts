import type { RankedCompletion, RankingView } from "./ranking-view.ts";

/**
 * The seed's rank-list TSV cannot quote, so a tab or line break inside a text
 * becomes a space; nothing else changes.
 */
export function tsvField(text: string): string {
  return text.replace(/[\t\r\n]+/g, " ");
}

/** The completions of a rank list grouped by level, best level first. */
function tiers(completions: readonly RankedCompletion[]): RankedCompletion[][] {
  const out: RankedCompletion[][] = [];
  for (const c of completions) {
    const last = out.at(-1);
    if (last && last[0]!.level === c.level) last.push(c);
    else out.push([c]);
  }
  return out;
}

/**
 * Rank lists in the seed's TSV: one list a line, best first, tab-separated. The format
 * has no way to say "equally good", so a list with ties becomes one strict line for each
 * way of taking one text from every tier (`A = B > C` → `A⇥C` and `B⇥C`): every pair on
 * a line is one the rater ordered, and tied texts never share a line, so a tool that
 * reads the seed's format learns no order the rater did not give. A list whose texts all
 * tie has no line.
 */
export function rankingToTsvLine(ranking: RankingView): string {
  const levels = tiers(ranking.completions);
  if (levels.length < 2) return "";
  let lines: string[][] = [[]];
  for (const tier of levels) lines = lines.flatMap((prefix) => tier.map((c) => [...prefix, tsvField(c.text)]));
  return lines.map((fields) => `${fields.join("\t")}\n`).join("");
}

/**
 * Every ordered pair of a rank list as trl's RewardTrainer/DPO rows: a completion is
 * chosen over each one of a worse level, so a strict list of n gives n(n-1)/2 rows and a
 * tie gives none.
 */
export function rankingToPairLines(ranking: RankingView): string {
  let out = "";
  const list = ranking.completions;
  for (let i = 0; i < list.length; i++) {
    for (let j = i + 1; j < list.length; j++) {
      if (list[i]!.level === list[j]!.level) continue;
      out += `${JSON.stringify({ prompt: ranking.prompt, chosen: list[i]!.text, rejected: list[j]!.text })}\n`;
    }
  }
  return out;
}
