import { parseArgs, type ParseArgsConfig } from "node:util";
import { z } from "zod";
import { UserError } from "../errors.ts";
import { parseOrExplain, readJsonFile } from "../io/json-file.ts";

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

const ConfigObject = z.record(z.string(), z.unknown());

/**
 * `--config`: a JSON file, or the JSON itself when it starts with `{`; `name` is what
 * errors about its values should name (the file, `--config`, or `fallbackName` without one).
 * @example readConfigFlag('{"epochs": 2}', "reward train flags") // { values: { epochs: 2 }, name: "--config" }
 */
export function readConfigFlag(value: string | undefined, fallbackName: string): { values: Record<string, unknown>; name: string } {
  if (value === undefined) return { values: {}, name: fallbackName };
  if (!value.trimStart().startsWith("{")) return { values: readJsonFile(value, ConfigObject), name: value };
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch (err) {
    throw new UserError(`--config: not valid JSON (${err instanceof Error ? err.message : String(err)}); give a JSON object or the path of a .json file`);
  }
  return { values: parseOrExplain("--config", ConfigObject, raw), name: "--config" };
}
