import { existsSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root (this file is services/gpu-trainer/src/data/default-corpus.ts). */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");

/**
 * Where real labelled reviews are looked for: `../shared/data/corpora` beside the
 * repository (RANKLAB_CORPORA overrides it). They are never shipped with the project:
 * docs/trainer.md says where to get them.
 */
export const defaultCorporaDir = (): string => process.env.RANKLAB_CORPORA ?? join(REPO_ROOT, "..", "shared", "data", "corpora");

/** The corpora folder's CSV files, sorted; undefined when the folder is missing or holds none. */
export function defaultCorpusFiles(dir: string = defaultCorporaDir()): string[] | undefined {
  if (!existsSync(dir)) return undefined;
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".csv"))
    .sort()
    .map((f) => join(dir, f));
  return files.length > 0 ? files : undefined;
}
