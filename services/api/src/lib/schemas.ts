import { z } from "zod";
import { LABEL_SOURCES } from "@ranklab/db";

/**
 * A lone surrogate (half of a UTF-16 pair) has no UTF-8 form: D1 would store invalid
 * bytes and hand back U+FFFD. In a `u` regex a well-formed pair is one code point, so
 * this class matches only the lone halves.
 */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
export const isWellFormed = (s: string) => !LONE_SURROGATE.test(s);
export const NOT_WELL_FORMED = "must be well-formed Unicode (it has a lone surrogate)";

/** Every string the API accepts, in bodies, paths and queries: well-formed Unicode, else 400. */
export const str = () => z.string().refine(isWellFormed, NOT_WELL_FORMED);

/** Row ids in JSON bodies: JSON integers only (not `true`, `"1"`, `["1"]`). */
export const id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/**
 * Decimal digits without sign or leading zero, at most 15 (below 2^53): how an id or
 * a count is written in a path or query. `0x1`, `1e0`, ` 1`, `+1` and `01` are refused
 * rather than read as numbers.
 */
const DIGITS = /^[1-9][0-9]{0,14}$/;
const digits = (what: string) => str().regex(DIGITS, `${what}: decimal digits only (1–15, no sign or leading zero)`).transform(Number);

/** A row id in a path or query string. */
export const idString = digits("expected an id");
export const idParam = z.object({ id: idString });

/** A count in a query string (`limit`), between `min` and `max`, `fallback` when left out. */
export const countQuery = (min: number, max: number, fallback: number) => digits("expected a count").pipe(z.number().min(min).max(max)).default(fallback);

/** Text a person reads: trimmed, non-empty, bounded so one request cannot fill D1. */
export const text = (max: number) => str().trim().min(1, "must not be empty").max(max, `at most ${max} characters`);

export interface JsonLimits {
  /** Containers (objects, arrays) nested at most this deep; a flat object is 1. */
  maxDepth: number;
  /** `JSON.stringify(value).length` at most this. */
  maxChars: number;
}

/**
 * What is wrong with a JSON value the API would store as it is, if anything: nested
 * too deep (a 100,000-level value is stored fine but breaks every later read of its
 * row), too large, a non-finite number (`1e999` parses to Infinity and would come
 * back as null), a string or key that is not well-formed Unicode, or a `__proto__`
 * key (stored, it would vanish or turn into a prototype when read). Walks with its
 * own stack, so a deep value cannot overflow the call stack here.
 */
export function jsonProblem(value: unknown, { maxDepth, maxChars }: JsonLimits): string | undefined {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v === "string") {
      if (!isWellFormed(v)) return `a string ${NOT_WELL_FORMED}`;
    } else if (typeof v === "number") {
      if (!Number.isFinite(v)) return "numbers must be finite";
    } else if (v !== null && typeof v === "object") {
      if (depth > maxDepth) return `nested deeper than ${maxDepth} levels`;
      if (Array.isArray(v)) {
        for (const item of v) stack.push([item, depth + 1]);
      } else {
        for (const [key, item] of Object.entries(v)) {
          if (!isWellFormed(key)) return `a key ${NOT_WELL_FORMED}`;
          if (key === "__proto__") return 'a key "__proto__" is not accepted (a JavaScript object cannot keep it as data); rename it';
          stack.push([item, depth + 1]);
        }
      }
    }
  }
  const chars = JSON.stringify(value)?.length ?? 0;
  if (chars > maxChars) return `serialises to ${chars} characters, more than ${maxChars}`;
  return undefined;
}

/**
 * `schema` plus `jsonProblem`'s limits: for JSON that is stored as it is (checkpoint
 * config and metrics, run metrics, bot sessions), checked before anything is written.
 * The check reads the value as it arrived, before `schema`: zod's records build plain
 * objects and silently drop a `__proto__` key, which must be refused, not lost.
 * (Typed as `schema` itself, so the routes' types for `hc<AppType>` stay as they were.)
 */
export const boundedJson = <T extends z.ZodType>(schema: T, limits: JsonLimits): T =>
  z.preprocess((value, ctx) => {
    const problem = jsonProblem(value, limits);
    if (problem) ctx.addIssue({ code: "custom", message: problem, input: value });
    return value;
  }, schema) as unknown as T;

export const booleanQuery = z.enum(["true", "false"]).transform((v) => v === "true");

/** Keyset paging, newest first: `cursor` is the last id of the previous page. */
export const paging = z.object({
  limit: countQuery(1, 200, 50),
  cursor: idString.optional(),
});

/** An ISO-8601 instant in a query string (`2026-11-24T00:00:00Z`). */
export const instant = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

export const labelSource = z.enum(LABEL_SOURCES);

export const MAX_PROMPT_CHARS = 2000;
export const MAX_COMPLETION_CHARS = 4000;

/** A rank list of completion ids, best first: 2–16 (every pair fits one D1 statement and a person can read them), each once. */
export const rankedCompletionIds = z
  .array(id)
  .min(2)
  .max(16)
  .refine((ids) => new Set(ids).size === ids.length, "a completion may appear once");

/**
 * Ties in a rank list: `levels[i]` is the dense rank of `completionIds[i]` (0 best), so
 * equal neighbours are "equally good". The first is 0 and each next one is the same as
 * the previous (a tie) or one more. Left out, the list is strict: 0, 1, 2, ….
 * @example completionIds [7, 9, 8, 6] with levels [0, 0, 1, 2]: 7 and 9 tie for best.
 */
export const rankLevels = z
  .array(z.number().int().min(0).max(15))
  .min(2)
  .max(16)
  .refine((levels) => levels[0] === 0 && levels.every((l, i) => i === 0 || l === levels[i - 1] || l === levels[i - 1]! + 1), {
    message: "levels start at 0 and each one equals the previous (a tie) or is one more",
  });

/** For `.refine(...)` on a body with `completionIds` and optional `levels`: one level per id. */
export const levelsMatchIds: [(b: { completionIds: number[]; levels?: number[] | undefined }) => boolean, { message: string; path: string[] }] = [
  (b) => !b.levels || b.levels.length === b.completionIds.length,
  { message: "levels must have one entry per completion id", path: ["levels"] },
];
