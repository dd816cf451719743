import { parseArgs, type ParseArgsConfig } from "node:util";
import { UserError } from "../errors.ts";

/** node:util parseArgs, with its errors turned into UserErrors that name the command. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig["options"]>>(command: string, argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UserError(`${command}: ${err instanceof Error ? err.message : String(err)} (see \`ranklab-trainer help\`)`);
  }
}

/** A positive integer flag, or a UserError naming the flag. */
export function intFlag(name: string, value: string | undefined, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UserError(`--${name} must be an integer, got "${value}"`);
  return n;
}

export function numberFlag(name: string, value: string | undefined, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UserError(`--${name} must be a number, got "${value}"`);
  return n;
}
