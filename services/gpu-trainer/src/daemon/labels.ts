import type { RankList } from "../reward/rank-data.ts";

export interface LeasedRanking {
  id: number;
  prompt: string;
  /** Best first. */
  completions: { id: number; text: string }[];
}

export interface LeasedScore {
  id: number;
  value: number;
  completionId: number;
  completion: string;
  promptId: number;
  prompt: string;
}

/**
 * Leased labels as rank lists for the rank loss: each ranking as it is; scores of one
 * prompt as one list ordered by mean score (completions with equal means are not
 * ordered against each other, so ties form separate lists of the distinct levels).
 */
export function labelsToRankLists(rankings: readonly LeasedRanking[], scores: readonly LeasedScore[]): RankList[] {
  const lists: RankList[] = rankings.filter((r) => r.completions.length >= 2).map((r) => ({ prompt: r.prompt, texts: r.completions.map((c) => c.text) }));
  const byPrompt = new Map<number, { prompt: string; sums: Map<string, { total: number; n: number }> }>();
  for (const s of scores) {
    const entry = byPrompt.get(s.promptId) ?? { prompt: s.prompt, sums: new Map() };
    const sum = entry.sums.get(s.completion) ?? { total: 0, n: 0 };
    sum.total += s.value;
    sum.n++;
    entry.sums.set(s.completion, sum);
    byPrompt.set(s.promptId, entry);
  }
  for (const { prompt, sums } of byPrompt.values()) {
    const levels = new Map<number, string>();
    // One completion per distinct mean score: a list needs a strict order.
    for (const [text, { total, n }] of sums) if (!levels.has(total / n)) levels.set(total / n, text);
    if (levels.size < 2) continue;
    lists.push({ prompt, texts: [...levels.entries()].sort((a, b) => b[0] - a[0]).map(([, text]) => text) });
  }
  return lists;
}
