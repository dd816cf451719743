import { existsSync, readFileSync } from "node:fs";
import { UserError } from "../errors.ts";

/**
 * Texts ordered best first, optionally with the prompt they answer. `levels` (dense
 * ranks, 0 best) mark ties: texts of one level are equally good and make no pair.
 * Without levels the list is strict.
 */
export interface RankList {
  prompt?: string | undefined;
  texts: string[];
  levels?: number[] | undefined;
  /** How much this list's pairs count in training (its rater's reliability); 1 when absent. */
  weight?: number | undefined;
}

/**
 * The seed's rank-list TSV: one rank list a line, best first, tab-separated, at least
 * two texts a line. A blank line, a line with one field or an empty field is an error
 * naming the file and line (a trailing newline at the end is fine).
 */
export function parseRankTsv(content: string, source: string): RankList[] {
  const lines = content.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines.map((rawLine, i) => {
    const line = rawLine.replace(/\r$/, "");
    const where = `${source}: line ${i + 1}`;
    if (line.trim() === "") throw new UserError(`${where}: empty line; each line must be a rank list of at least two tab-separated texts`);
    const texts = line.split("\t");
    if (texts.length < 2) throw new UserError(`${where}: only one field; a rank list needs at least two tab-separated texts, best first`);
    const empty = texts.findIndex((t) => t.trim() === "");
    if (empty >= 0) throw new UserError(`${where}: field ${empty + 1} is empty`);
    return { texts };
  });
}

/**
 * Pairwise JSONL as trl's RewardTrainer and DPO read it: `{prompt?, chosen, rejected}`;
 * `selected` is accepted for `chosen` (the seed's data uses it). Each pair becomes a
 * rank list of two.
 */
export function parsePairsJsonl(content: string, source: string): RankList[] {
  const out: RankList[] = [];
  content.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    const where = `${source}: line ${i + 1}`;
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(line);
    } catch {
      throw new UserError(`${where}: not valid JSON`);
    }
    const chosen = row.chosen ?? row.selected;
    const { rejected, prompt } = row;
    if (typeof chosen !== "string" || chosen.trim() === "") throw new UserError(`${where}: needs a non-empty string "chosen" (or "selected")`);
    if (typeof rejected !== "string" || rejected.trim() === "") throw new UserError(`${where}: needs a non-empty string "rejected"`);
    if (prompt !== undefined && typeof prompt !== "string") throw new UserError(`${where}: "prompt" must be a string`);
    out.push({ texts: [chosen, rejected], ...(prompt ? { prompt } : {}) });
  });
  return out;
}

/** Reads a `.tsv` rank-list file or a `.jsonl` pair file by its extension. */
export function readRankFile(path: string): RankList[] {
  if (!existsSync(path)) throw new UserError(`${path}: no such file`);
  const content = readFileSync(path, "utf8");
  const lists = path.endsWith(".jsonl") || path.endsWith(".json") ? parsePairsJsonl(content, path) : parseRankTsv(content, path);
  if (lists.length === 0) throw new UserError(`${path}: no rank lists in the file`);
  return lists;
}

/** Every (better, worse) index pair of a list of n: n(n−1)/2 of them. */
export function pairsOf(n: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) out.push([i, j]);
  return out;
}

/**
 * The (better, worse) pairs a list states: every pair of different levels (all pairs of
 * a strict list). A pair of two identical texts is left out: no model can order a text
 * against itself, and counting it would only lower accuracy.
 */
export function preferencePairs(list: RankList): [number, number][] {
  const level = (i: number) => list.levels?.[i] ?? i;
  return pairsOf(list.texts.length).filter(([i, j]) => level(i) < level(j) && list.texts[i] !== list.texts[j]);
}

export function countPairs(lists: readonly RankList[]): number {
  return lists.reduce((sum, l) => sum + preferencePairs(l).length, 0);
}

/** Pairwise accuracy: the share of (better, worse) pairs the scores put in the right order; ties count for nothing. */
export function pairwiseAccuracy(lists: readonly RankList[], scores: readonly number[][]): { accuracy: number; margin: number; pairs: number } {
  let right = 0;
  let margin = 0;
  let pairs = 0;
  lists.forEach((list, l) => {
    for (const [i, j] of preferencePairs(list)) {
      const d = scores[l]![i]! - scores[l]![j]!;
      if (d > 0) right++;
      margin += d;
      pairs++;
    }
  });
  return { accuracy: pairs ? right / pairs : Number.NaN, margin: pairs ? margin / pairs : Number.NaN, pairs };
}
