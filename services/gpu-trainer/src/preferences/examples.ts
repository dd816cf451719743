import type { RankList } from "../reward-model/rank-data.ts";
import { preferencePairs } from "../reward-model/rank-data.ts";
import { groupKey } from "@ranklab/api/group-key";

/** A stored rank list as the API's label history gives it: best first, ties share a level. */
export interface RankingLabel {
  id: number;
  raterId: number;
  promptId: number;
  prompt: string;
  completions: { id: number; text: string; level: number }[];
}

/** A stored score with its completion and the group of completions it belongs to (the bot's groups of 4). */
export interface ScoreLabel {
  id: number;
  raterId: number;
  value: number;
  completionId: number;
  completion: string;
  promptId: number;
  prompt: string;
  group: number[];
}

/**
 * One rater's judgement of one group of completions: the texts best first and their
 * levels (dense ranks; equal = tie). A ranking is one example; a rater's scores of
 * completions in one group are one example too, ordered by value.
 */
export interface PreferenceExample {
  /** The group's completion ids, ascending and comma-joined: what the held-out split hashes. */
  group: string;
  promptId: number;
  prompt: string;
  raterId: number;
  source: "ranking" | "scores";
  /** The labels it came from, so a run can acknowledge exactly what it used. */
  rankingIds: number[];
  scoreIds: number[];
  completionIds: number[];
  texts: string[];
  levels: number[];
}

/** Why a label made no example. */
export const SKIP_REASONS = ["duplicate", "missing_completion", "one_level", "identical_texts"] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export interface ExampleSet {
  examples: PreferenceExample[];
  /** Labels that made no example, by reason. */
  skipped: { rankings: Record<SkipReason, number>; scores: Record<SkipReason, number> };
}

const noSkips = (): Record<SkipReason, number> => ({ duplicate: 0, missing_completion: 0, one_level: 0, identical_texts: 0 });

/** Dense ranks of `values`, the highest value 0: [0.75, 1, 0.75, 0] → [1, 0, 1, 2]. */
export function denseRanks(values: readonly number[]): number[] {
  const distinct = [...new Set(values)].sort((a, b) => b - a);
  return values.map((v) => distinct.indexOf(v));
}

/** Best level first; within a level, by completion id (a canonical order). */
function ordered<T extends { id: number; text: string; level: number }>(items: T[]): T[] {
  return [...items].sort((a, b) => a.level - b.level || a.id - b.id);
}

/** Why an example cannot be trained on, or undefined when it states at least one usable preference. */
function unusable(texts: readonly string[], levels: readonly number[]): SkipReason | undefined {
  if (texts.length < 2 || texts.some((t) => typeof t !== "string" || t.length === 0)) return "missing_completion";
  if (new Set(levels).size < 2) return "one_level";
  if (preferencePairs({ texts: [...texts], levels: [...levels] }).length === 0) return "identical_texts";
  return undefined;
}

/**
 * Labels as preference examples, in memory: the one path from what raters said to what
 * the reward model learns. Any text passes through unchanged (tabs, line breaks, NUL,
 * 10,000 characters: the tokenizer truncates). Rankings keep their ties; a rater's scores
 * of one group become one example ordered by value, equal values tied, so no completion
 * is dropped. An example that states no preference is skipped and counted by reason,
 * never fatal.
 */
export function examplesFromLabels(rankings: readonly RankingLabel[], scores: readonly ScoreLabel[]): ExampleSet {
  const skipped = { rankings: noSkips(), scores: noSkips() };
  const examples: PreferenceExample[] = [];

  const seenRankings = new Set<number>();
  for (const r of rankings) {
    if (seenRankings.has(r.id)) {
      skipped.rankings.duplicate++;
      continue;
    }
    seenRankings.add(r.id);
    const items = ordered(r.completions ?? []);
    const texts = items.map((c) => c.text);
    const levels = items.map((c) => c.level);
    const why = unusable(texts, levels);
    if (why) {
      skipped.rankings[why]++;
      continue;
    }
    examples.push({
      group: groupKey(items.map((c) => c.id)),
      promptId: r.promptId,
      prompt: r.prompt,
      raterId: r.raterId,
      source: "ranking",
      rankingIds: [r.id],
      scoreIds: [],
      completionIds: items.map((c) => c.id),
      texts,
      levels,
    });
  }

  // Scores: one example per rater and group; a rater scoring one completion twice cannot happen (one score per rater and completion).
  const byRaterGroup = new Map<string, ScoreLabel[]>();
  const seenScores = new Set<number>();
  for (const s of scores) {
    if (seenScores.has(s.id)) {
      skipped.scores.duplicate++;
      continue;
    }
    seenScores.add(s.id);
    const key = `${s.raterId}|${groupKey(s.group.length > 0 ? s.group : [s.completionId])}`;
    byRaterGroup.set(key, [...(byRaterGroup.get(key) ?? []), s]);
  }
  for (const [key, group] of byRaterGroup) {
    const levels = denseRanks(group.map((s) => s.value));
    const items = ordered(group.map((s, i) => ({ id: s.completionId, text: s.completion, level: levels[i]!, score: s.id })));
    const texts = items.map((c) => c.text);
    const why = unusable(
      texts,
      items.map((c) => c.level),
    );
    if (why) {
      skipped.scores[why] += group.length;
      continue;
    }
    const first = group[0]!;
    examples.push({
      group: key.slice(key.indexOf("|") + 1),
      promptId: first.promptId,
      prompt: first.prompt,
      raterId: first.raterId,
      source: "scores",
      rankingIds: [],
      scoreIds: items.map((c) => c.score),
      completionIds: items.map((c) => c.id),
      texts,
      levels: items.map((c) => c.level),
    });
  }
  return { examples, skipped };
}

/** An example as the reward-model trainer reads it. */
export const toRankList = (e: PreferenceExample, weight?: number): RankList => ({
  prompt: e.prompt,
  texts: e.texts,
  levels: e.levels,
  ...(weight !== undefined ? { weight } : {}),
});
