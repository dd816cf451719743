import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { UserError } from "../errors.ts";
import { gpt2ParamSpecs, Gpt2ConfigSchema, type Gpt2Config } from "../models/gpt2.ts";
import { paramsFromTensors, paramsToTensors, type Params } from "../models/params.ts";
import { loadTokenizer, type WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { writeTokenizerFiles } from "./bert-dir.ts";
import { parseOrExplain, readJsonFile, writeJsonFile } from "./json-file.ts";
import { readCheckpointWeights } from "./checkpoint-weights.ts";
import { writeSafetensors } from "./safetensors.ts";

/**
 * A GPT-2 policy with a BERT WordPiece tokenizer, as Chinese GPT-2 checkpoints such as
 * uer/gpt2-chinese-cluecorpussmall ship it: texts start with [CLS] and end with [SEP].
 */
export interface Gpt2Model {
  config: Gpt2Config;
  params: Params;
  tokenizer: WordPieceTokenizer;
  hasValueHead: boolean;
}

/**
 * Writes a checkpoint folder Hugging Face's GPT2LMHeadModel loads (config.json,
 * model.safetensors, vocab.txt); a value head is stored beside the weights under trl's
 * names (`v_head.summary.*`), which transformers ignores and trl reads.
 */
export function saveGpt2Dir(dir: string, model: Gpt2Model, extra: Record<string, unknown> = {}): void {
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, "model.safetensors"), paramsToTensors(model.params));
  writeTokenizerFiles(dir, model.tokenizer);
  for (const [name, value] of Object.entries(extra)) writeJsonFile(join(dir, name), value);
  writeJsonFile(join(dir, "config.json"), { ...model.config, architectures: ["GPT2LMHeadModel"] });
}

/**
 * Loads a GPT-2 folder. `valueHead`: give the policy a value head (a fresh one when the
 * folder has none, as trl does for a plain language model).
 */
export function loadGpt2Dir(dir: string, options: { valueHead?: boolean; seed?: number } = {}): Gpt2Model {
  const configPath = join(dir, "config.json");
  const config = parseOrExplain(configPath, Gpt2ConfigSchema, readJsonFile(configPath, z.record(z.string(), z.unknown())));
  const { tensors, path: weightsPath } = readCheckpointWeights(dir);
  const valueHead = options.valueHead ?? tensors.has("v_head.summary.weight");
  // GPT2Model checkpoints (no LM head) name weights without the `transformer.` prefix.
  const aliases = (name: string) => [name, name.replace(/^transformer\./, "")];
  const params = paramsFromTensors(gpt2ParamSpecs(config, valueHead), tensors, weightsPath, {
    aliases,
    mayInit: (name) => name.startsWith("v_head."),
    seed: options.seed ?? 0,
  });
  const tokenizer = loadTokenizer(dir);
  if (tokenizer.size > config.vocab_size) throw new UserError(`${dir}: the vocabulary has ${tokenizer.size} tokens but config.json says vocab_size ${config.vocab_size}`);
  return { config, params, tokenizer, hasValueHead: valueHead };
}
