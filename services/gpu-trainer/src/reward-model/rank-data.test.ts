import { describe, expect, it } from "vitest";
import { UserError } from "../errors.ts";
import { pairsOf, pairwiseAccuracy, parsePairsJsonl, parseRankTsv, readRankFile } from "./rank-data.ts";

describe("rank-list data", () => {
  it("reads the seed's TSV: one list a line, best first", () => {
    expect(parseRankTsv("很好\t一般\t很差\n不错\t垃圾\n", "r.tsv")).toEqual([{ texts: ["很好", "一般", "很差"] }, { texts: ["不错", "垃圾"] }]);
  });

  it("names the file and line for a one-field line, an empty line and an empty field", () => {
    expect(() => parseRankTsv("很好\t很差\n只有一个\n", "r.tsv")).toThrow(
      new UserError("r.tsv: line 2: only one field; a rank list needs at least two tab-separated texts, best first"),
    );
    expect(() => parseRankTsv("很好\t很差\n\n不错\t差\n", "r.tsv")).toThrow(/r\.tsv: line 2: empty line/);
    expect(() => parseRankTsv("很好\t\t很差\n", "r.tsv")).toThrow(/r\.tsv: line 1: field 2 is empty/);
    expect(() => readRankFile("/nonexistent/rank.tsv")).toThrow(/rank\.tsv: no such file/);
  });

  it("reads pairwise JSONL with chosen or selected", () => {
    const content = '{"prompt":"p","chosen":"好","rejected":"差"}\n{"selected":"棒","rejected":"烂"}\n';
    expect(parsePairsJsonl(content, "p.jsonl")).toEqual([{ prompt: "p", texts: ["好", "差"] }, { texts: ["棒", "烂"] }]);
    expect(() => parsePairsJsonl('{"chosen":"好"}\n', "p.jsonl")).toThrow(/p\.jsonl: line 1: needs a non-empty string "rejected"/);
    expect(() => parsePairsJsonl("{oops\n", "p.jsonl")).toThrow(/p\.jsonl: line 1: not valid JSON/);
  });

  it("enumerates every pair and scores pairwise accuracy by hand", () => {
    expect(pairsOf(3)).toEqual([
      [0, 1],
      [0, 2],
      [1, 2],
    ]);
    // List of 3 scored [3, 1, 2]: (0,1) right, (0,2) right, (1,2) wrong → 2/3.
    const result = pairwiseAccuracy([{ texts: ["a", "b", "c"] }], [[3, 1, 2]]);
    expect(result.accuracy).toBeCloseTo(2 / 3, 12);
    expect(result.margin).toBeCloseTo((2 + 1 - 1) / 3, 12);
  });
});
