/**
 * Hostile values for the fuzzer: what a careless or malicious client sends in place of
 * a field, a path segment, a query value or a whole body.
 */
import fc from "fast-check";

/** A JSON value nested `levels` deep, inlined as text when the body is serialised (JSON.stringify recurses). */
export class Deep {
  constructor(readonly levels: number) {}
  json(): string {
    return `${"[".repeat(this.levels)}1${"]".repeat(this.levels)}`;
  }
}

/** Any UTF-16 code unit, lone surrogates included (fc's own string units are well-formed). */
const codeUnit = fc.oneof(
  fc.integer({ min: 0x20, max: 0x7e }).map((n) => String.fromCharCode(n)),
  fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n)),
  fc.constantFrom("\uD800", "\uDFFF", "\uD83D", "\uDE00", "\u0000", "\u202E", "\uFEFF", "\n", "\t", '"', "\\", "%", "/"),
);
export const anyString = fc.string({ unit: codeUnit, maxLength: 40 });

const SPECIAL_STRINGS = [
  "",
  " ",
  "1",
  "0",
  "-1",
  "0x1",
  "0x0d",
  "1e0",
  "1e999",
  "NaN",
  "Infinity",
  "true",
  "null",
  "[]",
  "{}",
  "a\uD800b",
  "\uDFFF",
  "\uD83D\uDE00",
  "<script>alert(1)</script>",
  "'; DROP TABLE raters; --",
  "../../etc/passwd",
  "__proto__",
  "constructor",
  "tg:1",
  "web:x",
  "\u0000",
  "\u202Eevil",
  "排序标注",
  "x".repeat(5000),
];

/** A value of the wrong type or shape for whatever field it replaces. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom<unknown>(true, false, null, 0, -1, 1.5, -0, 2 ** 53, 1e308, -1e308, Number.MAX_SAFE_INTEGER, ["1"], [], {}, [null], { a: 1 }),
  },
  { weight: 4, arbitrary: fc.constantFrom(...SPECIAL_STRINGS) },
  { weight: 3, arbitrary: anyString },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.array(anyString, { maxLength: 5 }) },
  { weight: 1, arbitrary: fc.constantFrom(20, 1000, 100_000).map((n) => new Deep(n)) },
);

/** Serialises a body that may hold `Deep` values and non-finite numbers (sent as 1e999). */
export function serialise(body: unknown): string {
  const deep: Deep[] = [];
  const text = JSON.stringify(body, (_key, value: unknown) => {
    if (value instanceof Deep) {
      deep.push(value);
      return `\u0000deep${deep.length - 1}\u0000`;
    }
    if (typeof value === "number" && !Number.isFinite(value)) return `\u0000inf${value < 0 ? "-" : "+"}\u0000`;
    return value;
  });
  if (text === undefined) return "";
  return text
    .replace(/"\\u0000deep(\d+)\\u0000"/g, (_m, i: string) => deep[Number(i)]!.json())
    .replace(/"\\u0000inf([+-])\\u0000"/g, (_m, sign: string) => (sign === "-" ? "-1e999" : "1e999"));
}

/** Bodies that are not JSON, or JSON that a parser might trip on. */
export const malformedBody = fc.constantFrom<string | Uint8Array>(
  "",
  "{",
  "nul",
  "[1,]",
  '{"a":1}garbage',
  "\uFEFF{}",
  '"\\ud800"',
  '{"__proto__":{"admin":true}}',
  `1${"0".repeat(400)}`,
  "[".repeat(5000),
  `${"[".repeat(200_000)}${"]".repeat(200_000)}`,
  new Uint8Array([0xff, 0xfe, 0x7b, 0x7d]),
  new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]),
);

export const contentType = fc.constantFrom<string | undefined>(
  "application/json",
  "application/json",
  "application/json",
  "application/json; charset=utf-8",
  "text/plain",
  undefined,
  "application/x-www-form-urlencoded",
  "multipart/form-data",
  "application/vnd.api+json",
);

/** Percent-encodes every byte that is not unreserved; lone surrogates become U+FFFD here, so raw forms come from RAW_SEGMENTS. */
const encodeSegment = (s: string) =>
  [...new TextEncoder().encode(s)]
    .map((b) => (/[A-Za-z0-9._~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`))
    .join("");

/** Path segments and query values as they appear on the wire (already encoded). */
const RAW_SEGMENTS = [
  "0",
  "-1",
  "0x1",
  "0x0d",
  "1e0",
  "01",
  "+1",
  "1.0",
  "1%20",
  "%201",
  "99999999999999999999",
  "9007199254740993",
  "Infinity",
  "NaN",
  "%00",
  "%ED%A0%80",
  "%FF",
  "%",
  "%2F",
  "..",
  "%2E%2E",
  "true",
  "%5B%221%22%5D",
  "a%0Ab",
  "%E2%80%AE",
  "x".repeat(300),
];
export const hostileSegment: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...RAW_SEGMENTS) },
  { weight: 2, arbitrary: anyString.map(encodeSegment) },
  { weight: 1, arbitrary: fc.integer().map(String) },
);

/** Paths of every shape in `body`: `["a"]`, `["a", 0, "b"]`, … (the body itself is `[]`). */
export function pathsOf(body: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(body)) body.forEach((v, i) => pathsOf(v, [...at, i], out));
  else if (body !== null && typeof body === "object" && !(body instanceof Deep)) for (const [k, v] of Object.entries(body)) pathsOf(v, [...at, k], out);
  return out;
}

export type Mutation = "replace" | "delete" | "add" | "whole";

/** `body` with one change at the `pick`-th of its paths: a hostile value put there, the key deleted, an unknown key added. */
export function mutate(body: unknown, pick: number, kind: Mutation, value: unknown, key: string): unknown {
  if (kind === "whole") return value;
  const copy = structuredClone(body);
  const paths = pathsOf(copy);
  const path = paths[pick % paths.length]!;
  if (path.length === 0) return kind === "replace" ? value : copy;
  const parent = path.slice(0, -1).reduce<any>((o, k) => o[k], copy);
  const last = path[path.length - 1]!;
  if (kind === "replace") parent[last] = value;
  else if (kind === "delete") Array.isArray(parent) ? parent.splice(Number(last), 1) : delete parent[last];
  else if (parent !== null && typeof parent === "object" && !Array.isArray(parent)) parent[key] = value;
  else if (Array.isArray(parent)) parent.push(value);
  return copy;
}
