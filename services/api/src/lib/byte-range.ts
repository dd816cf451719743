/** A satisfiable single byte range of an object of known size: `offset` and `length` as R2's get takes them. */
export interface ByteRange {
  offset: number;
  length: number;
}

/**
 * Reads a `Range` header (RFC 9110) against an object of `size` bytes. One range only:
 * `bytes=a-b`, `bytes=a-` or `bytes=-n` (the last n bytes).
 * - undefined: no header, another unit, several ranges or a malformed value; the whole
 *   object is sent (as RFC 9110 allows a server to ignore such a header);
 * - "unsatisfiable": the range starts at or past the end (answered with 416).
 * @example parseByteRange("bytes=100-199", 1000) // { offset: 100, length: 100 }
 */
export function parseByteRange(header: string | undefined, size: number): ByteRange | "unsatisfiable" | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") return undefined;
  if (first === "") {
    // A suffix: the last n bytes (all of them when n exceeds the size).
    const n = Number(last);
    if (n === 0) return "unsatisfiable";
    const length = Math.min(n, size);
    return { offset: size - length, length };
  }
  const start = Number(first);
  if (last !== "" && Number(last) < start) return undefined;
  if (start >= size) return "unsatisfiable";
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  return { offset: start, length: end - start + 1 };
}
