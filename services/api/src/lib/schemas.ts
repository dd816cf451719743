import { z } from "zod";
import { LABEL_SOURCES } from "@ranklab/db";

/** Row ids are positive integers; path and query strings are coerced. */
export const id = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);
export const idParam = z.object({ id });

/** Text a person reads: trimmed, non-empty, bounded so one request cannot fill D1. */
export const text = (max: number) => z.string().trim().min(1, "must not be empty").max(max, `at most ${max} characters`);

export const booleanQuery = z.enum(["true", "false"]).transform((v) => v === "true");

/** Keyset paging, newest first: `cursor` is the last id of the previous page. */
export const paging = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: id.optional(),
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
