import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import type { ZodType } from "zod";
import { UserError } from "../errors.ts";

/** Reads and validates a JSON file; every failure names the file and what is wrong. */
export function readJsonFile<T>(path: string, schema: ZodType<T>): T {
  if (!existsSync(path)) throw new UserError(`${path}: no such file`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new UserError(`${path}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  return parseOrExplain(path, schema, raw);
}

/** Validates `value` read from `path`, naming the file and each bad field on failure. */
export function parseOrExplain<T>(path: string, schema: ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new UserError(`${path}: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`);
  }
  return parsed.data;
}

/** Writes via a temporary file and a rename, so a crash never leaves half a file. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

export function writeJsonFile(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}
