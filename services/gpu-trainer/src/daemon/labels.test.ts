import { describe, expect, it } from "vitest";
import { labelsToRankLists } from "./labels.ts";

describe("leased labels as rank lists", () => {
  it("keeps rankings best first and orders a prompt's scored completions by mean score", () => {
    const lists = labelsToRankLists(
      [{ id: 1, prompt: "P", completions: [{ id: 1, text: "a" }, { id: 2, text: "b" }] }],
      [
        { id: 1, value: 0.25, completionId: 5, completion: "low", promptId: 9, prompt: "Q" },
        { id: 2, value: 1, completionId: 6, completion: "high", promptId: 9, prompt: "Q" },
        { id: 3, value: 0.5, completionId: 6, completion: "high", promptId: 9, prompt: "Q" },
        { id: 4, value: 1, completionId: 7, completion: "alone", promptId: 10, prompt: "R" },
      ],
    );
    expect(lists).toEqual([
      { prompt: "P", texts: ["a", "b"] },
      // high: mean 0.75 > low: 0.25; prompt R has one completion and gives no pair.
      { prompt: "Q", texts: ["high", "low"] },
    ]);
  });
});
