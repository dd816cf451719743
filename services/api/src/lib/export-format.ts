import type { RankingView } from "./ranking-view.ts";

/**
 * The seed's rank-list TSV cannot quote, so a tab or line break inside a text
 * becomes a space; nothing else changes.
 */
export function tsvField(text: string): string {
  return text.replace(/[\t\r\n]+/g, " ");
}

/** One rank list per line, best first, tab-separated. */
export function rankingToTsvLine(ranking: RankingView): string {
  return `${ranking.completions.map((c) => tsvField(c.text)).join("\t")}\n`;
}

/**
 * Every ordered pair of a rank list as trl's RewardTrainer/DPO rows: for i < j the
 * completion at i is chosen over the one at j, so a list of n gives n(n-1)/2 rows.
 */
export function rankingToPairLines(ranking: RankingView): string {
  let out = "";
  const list = ranking.completions;
  for (let i = 0; i < list.length; i++) {
    for (let j = i + 1; j < list.length; j++) {
      out += `${JSON.stringify({ prompt: ranking.prompt, chosen: list[i]!.text, rejected: list[j]!.text })}\n`;
    }
  }
  return out;
}
