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
