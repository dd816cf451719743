import { describe, expect, it } from "vitest";
import { preferencePairs } from "../reward-model/rank-data.ts";
import { denseRanks, examplesFromLabels, toRankList, type RankingLabel, type ScoreLabel } from "./examples.ts";

const HOSTILE = ["第一行\n第二行", "a\tb\tc", "回车\r结尾\r\n", "nul\u0000inside", "长".repeat(10_000), " \u2028 行分隔 \u2029", "[SEP] 假的特殊符号 [CLS]"];

const ranking = (id: number, completions: [number, string, number][], raterId = 1, promptId = 1): RankingLabel => ({
  id,
  raterId,
  promptId,
  prompt: "刚收到货，感觉有",
  completions: completions.map(([cid, text, level]) => ({ id: cid, text, level })),
});
const score = (id: number, completionId: number, completion: string, value: number, raterId = 1, group = [10, 11, 12, 13]): ScoreLabel => ({
  id,
  raterId,
  value,
  completionId,
  completion,
  promptId: 2,
  prompt: "这部电影很",
  group,
});

describe("preference examples from labels", () => {
  it("passes every text through unchanged, whatever it holds", () => {
    const completions = HOSTILE.map((text, i): [number, string, number] => [100 + i, text, i]);
    const { examples, skipped } = examplesFromLabels([ranking(1, completions)], []);
    expect(examples).toHaveLength(1);
    expect(examples[0]!.texts).toEqual(HOSTILE);
    expect(examples[0]!.group).toBe("100,101,102,103,104,105,106");
    expect(preferencePairs(toRankList(examples[0]!))).toHaveLength((7 * 6) / 2);
    expect(Object.values(skipped.rankings).every((n) => n === 0)).toBe(true);
  });

  it("keeps ties: no pair inside a level, every pair across levels", () => {
    const { examples } = examplesFromLabels(
      [
        ranking(1, [
          [3, "好", 0],
          [1, "也好", 0],
          [2, "差", 1],
        ]),
      ],
      [],
    );
    // Ties come in id order.
    expect(examples[0]!.texts).toEqual(["也好", "好", "差"]);
    expect(examples[0]!.levels).toEqual([0, 0, 1]);
    expect(preferencePairs(toRankList(examples[0]!))).toEqual([
      [0, 2],
      [1, 2],
    ]);
  });

  it("skips and counts what states no preference, and never fails", () => {
    const { examples, skipped } = examplesFromLabels(
      [
        ranking(1, [
          [1, "好", 0],
          [2, "差", 1],
        ]),
        ranking(1, [
          [1, "好", 0],
          [2, "差", 1],
        ]), // the same label twice
        ranking(2, [
          [3, "一样", 0],
          [4, "一样好", 0],
        ]), // all tied
        ranking(3, [
          [5, "重复", 0],
          [6, "重复", 1],
        ]), // identical texts: nothing to learn
        ranking(4, [[7, "孤单", 0]]), // a completion is missing
        ranking(5, [
          [8, "", 0],
          [9, "有", 1],
        ]),
      ],
      [],
    );
    expect(examples.map((e) => e.rankingIds)).toEqual([[1]]);
    expect(skipped.rankings).toEqual({ duplicate: 1, one_level: 1, identical_texts: 1, missing_completion: 2 });
  });

  it("turns a rater's scores of one group into one example without dropping a completion, equal values tied", () => {
    const { examples, skipped } = examplesFromLabels(
      [],
      [
        score(1, 10, "很好", 1),
        score(2, 11, "一般", 0.5),
        score(3, 12, "也一般", 0.5),
        score(4, 13, "很差", 0),
        score(5, 10, "很好", 0.75, 2),
        score(6, 11, "一般", 0.75, 2),
      ],
    );
    expect(examples).toHaveLength(1);
    expect(examples[0]).toMatchObject({
      source: "scores",
      raterId: 1,
      group: "10,11,12,13",
      scoreIds: [1, 2, 3, 4],
      texts: ["很好", "一般", "也一般", "很差"],
      levels: [0, 1, 1, 2],
    });
    // Rater 2 gave both of theirs the same value: no preference, both skipped.
    expect(skipped.scores.one_level).toBe(2);
  });

  it("builds examples for prompts that have scores only, one per rater and group", () => {
    const { examples } = examplesFromLabels(
      [],
      [
        score(1, 10, "好", 1, 1),
        score(2, 11, "差", 0, 1),
        score(3, 20, "棒", 1, 1, [20, 21, 22, 23]),
        score(4, 21, "烂", 0.25, 1, [20, 21, 22, 23]),
        score(5, 10, "好", 0.5, 3),
        score(6, 11, "差", 1, 3),
      ],
    );
    expect(examples.map((e) => `${e.raterId}:${e.group}:${e.texts.join(">")}`).sort()).toEqual([
      "1:10,11,12,13:好>差",
      "1:20,21,22,23:棒>烂",
      "3:10,11,12,13:差>好",
    ]);
  });

  it("ranks values densely, highest first", () => {
    expect(denseRanks([0.75, 1, 0.75, 0])).toEqual([1, 0, 1, 2]);
  });
});
