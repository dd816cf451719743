import { describe, expect, it } from "vitest";
import { chunk, rowsPerStatement } from "./chunk.ts";

describe("chunk", () => {
  it("splits into pieces of at most size, keeping order", () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunk([], 3)).toEqual([]);
  });
  it("rejects a size that would loop forever", () => {
    expect(() => chunk([1], 0)).toThrow(/positive integer/);
  });
  it("keeps a statement within D1's 100 bound parameters", () => {
    expect(rowsPerStatement(6)).toBe(16);
    expect(rowsPerStatement(6) * 6).toBeLessThanOrEqual(100);
    expect(rowsPerStatement(500)).toBe(1);
  });
});
