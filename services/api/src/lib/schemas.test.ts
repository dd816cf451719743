import { describe, expect, it } from "vitest";
import { nestedJson } from "../../test/helpers.ts";
import { idString, isWellFormed, jsonProblem } from "./schemas.ts";

describe("the shared schema helpers", () => {
  it("tells lone surrogates from well-formed pairs", () => {
    expect(isWellFormed("a\u{1F600}b 排序")).toBe(true);
    for (const bad of ["a\uD800b", "\uDC00", "x\uD83D", "\uDE00\uD83D"]) expect(isWellFormed(bad)).toBe(false);
  });

  it("reads ids in paths and queries as decimal digits only", () => {
    expect(idString.parse("13")).toBe(13);
    expect(idString.parse("999999999999999")).toBe(999999999999999);
    for (const bad of ["0x0d", "1e0", "0", "01", "-1", "+1", " 1", "1 ", "1.0", "", "9999999999999999", "١", "Infinity"]) {
      expect(idString.safeParse(bad).success, bad).toBe(false);
    }
  });

  it("bounds stored JSON in depth and size, without overflowing on a very deep value", () => {
    const limits = { maxDepth: 16, maxChars: 1000 };
    expect(jsonProblem(JSON.parse(nestedJson(16)), limits)).toBeUndefined();
    expect(jsonProblem(JSON.parse(nestedJson(17)), limits)).toMatch(/deeper than 16/);
    expect(jsonProblem(JSON.parse(nestedJson(100_000)), limits)).toMatch(/deeper than 16/);
    expect(jsonProblem([[[]]], { maxDepth: 2, maxChars: 100 })).toMatch(/deeper than 2/);
    expect(jsonProblem({ a: "x".repeat(1000) }, limits)).toMatch(/more than 1000/);
    expect(jsonProblem(JSON.parse('{"a":[1e999]}'), limits)).toMatch(/finite/);
    expect(jsonProblem({ "k\uD800": 1 }, limits)).toMatch(/key/);
    expect(jsonProblem({ k: ["ok", "\uDFFF"] }, limits)).toMatch(/string/);
    expect(jsonProblem({ a: [1, "两", null, true, { b: [] }] }, limits)).toBeUndefined();
  });
});
