import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");

/**
 * Where a local install keeps its state: `.ranklab/` in the repository unless
 * RANKLAB_HOME says otherwise (tests and benchmarks use a fresh temporary one).
 */
export function ranklabHome(): string {
  return resolve(process.env.RANKLAB_HOME ?? join(REPO_ROOT, ".ranklab"));
}

export interface Tokens {
  BOT_API_TOKEN: string;
  TRAINER_API_TOKEN: string;
  ADMIN_API_TOKEN: string;
}

/**
 * The API's bearer tokens for this install, made once with fresh random values and
 * kept in `<home>/secrets.env` (what `wrangler dev --env-file` reads, as .dev.vars).
 */
export function localTokens(home = ranklabHome()): { tokens: Tokens; file: string } {
  const file = join(home, "secrets.env");
  mkdirSync(home, { recursive: true });
  if (!existsSync(file)) {
    const token = () => randomBytes(24).toString("base64url");
    const lines = ["BOT_API_TOKEN", "TRAINER_API_TOKEN", "ADMIN_API_TOKEN"].map((k) => `${k}=${token()}`);
    writeFileSync(file, `# Local bearer tokens for the ranklab API (made by npm start).\n${lines.join("\n")}\n`, { mode: 0o600 });
  }
  const values = Object.fromEntries(
    readFileSync(file, "utf8")
      .split("\n")
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
  for (const key of ["BOT_API_TOKEN", "TRAINER_API_TOKEN", "ADMIN_API_TOKEN"]) {
    if (!values[key]) throw new Error(`${file} lacks ${key}; delete the file and npm start makes a new one`);
  }
  return { tokens: values as unknown as Tokens, file };
}
