import { describe, expect, it } from "vitest";
import { rankingToPairLines, rankingToTsvLine, tsvField } from "./export-format.ts";
import type { RankingView } from "./ranking-view.ts";

const ranking = (texts: string[], levels?: number[]): RankingView => ({
  id: 1,
  raterId: 1,
  promptId: 1,
  prompt: "刚收到货，感觉有",
  source: "web",
  createdAt: new Date(0),
  completions: texts.map((text, i) => ({ id: i + 1, text, checkpointId: null, level: levels?.[i] ?? i })),
});

describe("export formats", () => {
  it("writes a rank list best first, tab-separated, one line", () => {
    expect(rankingToTsvLine(ranking(["很好", "一般", "很差"]))).toBe("很好\t一般\t很差\n");
  });
  it("flattens tabs and line breaks inside a text so the line stays one rank list", () => {
    expect(tsvField("好\t用\r\n推荐")).toBe("好 用 推荐");
  });
  it("writes a list with ties as one strict line per choice from each tier, and nothing for an all-tied list", () => {
    // A = B > C > D = E: every line orders only pairs the rater ordered.
    expect(rankingToTsvLine(ranking(["A", "B", "C", "D", "E"], [0, 0, 1, 2, 2]))).toBe("A\tC\tD\nA\tC\tE\nB\tC\tD\nB\tC\tE\n");
    expect(rankingToTsvLine(ranking(["A", "B"], [0, 0]))).toBe("");
  });
  it("makes no pair for a tie", () => {
    const lines = rankingToPairLines(ranking(["A", "B", "C"], [0, 0, 1]))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => `${l.chosen}>${l.rejected}`)).toEqual(["A>C", "B>C"]);
  });
  it("emits every pair with the better one chosen", () => {
    const lines = rankingToPairLines(ranking(["A", "B", "C"]))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { prompt: "刚收到货，感觉有", chosen: "A", rejected: "B" },
      { prompt: "刚收到货，感觉有", chosen: "A", rejected: "C" },
      { prompt: "刚收到货，感觉有", chosen: "B", rejected: "C" },
    ]);
  });
});
