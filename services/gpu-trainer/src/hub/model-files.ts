import { existsSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.ts";

/** Tokenizer files ranklab reads (vocab.txt or tokenizer.json; the other two carry lower-casing and special tokens). */
const TOKENIZER_FILES = ["vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"];
/** metrics.json: a ranklab reward model's reward scale (train_reward_mean/std), which the PPO reward and the scorer read. */
const RANKLAB_FILES = ["metrics.json"];

export interface RepoFile {
  path: string;
  size: number;
}

/**
 * The files of a repository's top level that a model needs: config.json, one weights
 * file (model.safetensors, else pytorch_model.bin: a repository often has both, and
 * other frameworks' weights, ONNX exports and shards are skipped), and the tokenizer.
 * A UserError says what is missing, before anything is downloaded.
 */
export function modelFilesToDownload(what: string, files: readonly RepoFile[]): RepoFile[] {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const config = byPath.get("config.json");
  if (!config) throw new UserError(`${what}: the repository has no config.json at its top level, so it is not a transformers model`);
  const weights = byPath.get("model.safetensors") ?? byPath.get("pytorch_model.bin");
  if (!weights) {
    const sharded = ["model.safetensors.index.json", "pytorch_model.bin.index.json"].find((f) => byPath.has(f));
    if (sharded) throw new UserError(`${what}: the weights are sharded (${sharded}); ranklab reads one model.safetensors or pytorch_model.bin`);
    throw new UserError(`${what}: the repository has no model.safetensors or pytorch_model.bin`);
  }
  if (!byPath.has("vocab.txt") && !byPath.has("tokenizer.json")) throw new UserError(`${what}: the repository has no vocab.txt or tokenizer.json`);
  const extra = [...TOKENIZER_FILES, ...RANKLAB_FILES].flatMap((p) => byPath.get(p) ?? []);
  return [config, weights, ...extra];
}

/** Whether a folder (a cache snapshot, or one Python's huggingface_hub wrote) holds a loadable model: config, weights, a vocabulary. */
export function isCompleteModelFolder(dir: string): boolean {
  const has = (f: string) => existsSync(join(dir, f));
  return has("config.json") && (has("model.safetensors") || has("pytorch_model.bin")) && (has("vocab.txt") || has("tokenizer.json"));
}
