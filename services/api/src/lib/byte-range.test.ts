import { describe, expect, it } from "vitest";
import { parseByteRange } from "./byte-range.ts";

describe("parseByteRange", () => {
  it("reads the three single-range forms against the object's size", () => {
    expect(parseByteRange("bytes=0-0", 10)).toEqual({ offset: 0, length: 1 });
    expect(parseByteRange("bytes=3-6", 10)).toEqual({ offset: 3, length: 4 });
    expect(parseByteRange("bytes=4-", 10)).toEqual({ offset: 4, length: 6 });
    expect(parseByteRange("bytes=-3", 10)).toEqual({ offset: 7, length: 3 });
    // An end or suffix past the object is cut to it.
    expect(parseByteRange("bytes=8-99", 10)).toEqual({ offset: 8, length: 2 });
    expect(parseByteRange("bytes=-99", 10)).toEqual({ offset: 0, length: 10 });
  });

  it("answers unsatisfiable for a start at or past the end, and ignores what it cannot read", () => {
    expect(parseByteRange("bytes=10-", 10)).toBe("unsatisfiable");
    expect(parseByteRange("bytes=-0", 10)).toBe("unsatisfiable");
    for (const header of [undefined, "", "bytes=", "bytes=-", "bytes=5-2", "bytes=0-1,4-5", "items=0-1", "bytes=a-b"]) {
      expect(parseByteRange(header, 10)).toBeUndefined();
    }
  });
});
