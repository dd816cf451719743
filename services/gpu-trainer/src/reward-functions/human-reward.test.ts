import { describe, expect, it } from "vitest";
import { parseAnswer } from "./human-reward.ts";

describe("parsing a person's answer", () => {
  it("reads scores on the 0–1 scale and stars on 1–5", () => {
    expect(parseAnswer(" 0.75 ", "0-1")).toEqual({ score: 0.75 });
    expect(parseAnswer("1", "0-1")).toEqual({ score: 1 });
    expect(parseAnswer("4", "1-5")).toEqual({ score: 0.75 });
    expect(parseAnswer("1", "1-5")).toEqual({ score: 0 });
  });

  it("knows skip and quit", () => {
    expect(parseAnswer("s", "0-1")).toEqual({ skip: true });
    expect(parseAnswer("Q", "1-5")).toEqual({ quit: true });
  });

  it("asks again for words, out-of-range numbers and empty input", () => {
    for (const [typed, scale] of [
      ["abc", "0-1"],
      ["7", "0-1"],
      ["", "0-1"],
      ["1.5", "1-5"],
      ["0", "1-5"],
      ["-0.1", "0-1"],
    ] as const) {
      expect(parseAnswer(typed, scale)).toHaveProperty("error");
    }
    expect((parseAnswer("abc", "0-1") as { error: string }).error).toContain('"abc" is not a number');
  });
});
