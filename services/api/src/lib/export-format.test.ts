import { describe, expect, it } from "vitest";
import { rankingToPairLines, rankingToTsvLine, tsvField } from "./export-format.ts";
import type { RankingView } from "./ranking-view.ts";

const ranking = (texts: string[]): RankingView => ({
  id: 1,
  raterId: 1,
  promptId: 1,
  prompt: "刚收到货，感觉有",
  source: "web",
  createdAt: new Date(0),
  completions: texts.map((text, i) => ({ id: i + 1, text, checkpointId: null })),
});

describe("export formats", () => {
  it("writes a rank list best first, tab-separated, one line", () => {
    expect(rankingToTsvLine(ranking(["很好", "一般", "很差"]))).toBe("很好\t一般\t很差\n");
  });
  it("flattens tabs and line breaks inside a text so the line stays one rank list", () => {
    expect(tsvField("好\t用\r\n推荐")).toBe("好 用 推荐");
  });
  it("emits every pair with the better one chosen", () => {
    const lines = rankingToPairLines(ranking(["A", "B", "C"])).trim().split("\n").map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { prompt: "刚收到货，感觉有", chosen: "A", rejected: "B" },
      { prompt: "刚收到货，感觉有", chosen: "A", rejected: "C" },
      { prompt: "刚收到货，感觉有", chosen: "B", rejected: "C" },
    ]);
  });
});
