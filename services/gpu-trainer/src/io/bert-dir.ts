import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { UserError } from "../errors.ts";
import { bertParamSpecs, bertWeightAliases, BertConfigSchema, type BertConfig } from "../models/bert.ts";
import { paramsFromTensors, paramsToTensors, type Params } from "../models/params.ts";
import { vocabTxt } from "../tokenizer/vocab.ts";
import { loadTokenizer, type WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { parseOrExplain, readJsonFile, writeJsonFile } from "./json-file.ts";
import { readCheckpointWeights } from "./checkpoint-weights.ts";
import { writeSafetensors } from "./safetensors.ts";

export interface BertModel {
  config: BertConfig;
  params: Params;
  tokenizer: WordPieceTokenizer;
}

/** Hugging Face's config.json for the head: `num_labels` is derived from id2label there. */
function hfConfig(config: BertConfig) {
  const labels = config.num_labels === 2 ? ["negative", "positive"] : Array.from({ length: config.num_labels }, (_, i) => `LABEL_${i}`);
  return {
    ...config,
    architectures: [config.model_type === "ernie" ? "ErnieForSequenceClassification" : "BertForSequenceClassification"],
    id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
    label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
  };
}

/** vocab.txt and tokenizer_config.json, as Hugging Face's BertTokenizer saves them (GPT-2 folders use them too). */
export function writeTokenizerFiles(dir: string, tokenizer: WordPieceTokenizer): void {
  writeFileSync(join(dir, "vocab.txt"), vocabTxt(tokenizer.vocab));
  writeJsonFile(join(dir, "tokenizer_config.json"), { tokenizer_class: "BertTokenizer", do_lower_case: tokenizer.options.lowercase });
}

/**
 * A checkpoint folder as Hugging Face writes one: config.json, model.safetensors,
 * vocab.txt (and tokenizer_config.json). `extra` files (metrics.json, run.json, …) are
 * written beside them.
 */
export function saveBertDir(dir: string, model: BertModel, extra: Record<string, unknown> = {}): void {
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, "model.safetensors"), paramsToTensors(model.params));
  writeTokenizerFiles(dir, model.tokenizer);
  for (const [name, value] of Object.entries(extra)) writeJsonFile(join(dir, name), value);
  // config.json last: a folder with a config.json is a complete checkpoint.
  writeJsonFile(join(dir, "config.json"), hfConfig(model.config));
}

export function loadBertDir(dir: string, overrides: Partial<BertConfig> = {}): BertModel {
  const configPath = join(dir, "config.json");
  const raw = readJsonFile(configPath, z.record(z.string(), z.unknown()));
  // Hugging Face derives num_labels from id2label.
  const id2label = raw.id2label as Record<string, string> | undefined;
  const numLabels = id2label ? Object.keys(id2label).length : raw.num_labels;
  const config = parseOrExplain(configPath, BertConfigSchema, { ...raw, num_labels: numLabels, ...overrides });
  const { tensors, path: weightsPath } = readCheckpointWeights(dir);
  // Base encoders (BertModel) name weights without the `bert.` prefix.
  const prefix = config.model_type === "ernie" ? "ernie." : "bert.";
  const aliases = (name: string) => bertWeightAliases(name).flatMap((n) => [n, n.startsWith(prefix) ? n.slice(prefix.length) : n]);
  // A pretrained encoder without a head gets a fresh one (and a fresh pooler if it has none).
  const params = paramsFromTensors(bertParamSpecs(config), tensors, weightsPath, {
    aliases,
    mayInit: (name) => name.startsWith("classifier.") || name.includes(".pooler."),
  });
  const tokenizer = loadTokenizer(dir);
  if (tokenizer.size > config.vocab_size) throw new UserError(`${dir}: the vocabulary has ${tokenizer.size} tokens but config.json says vocab_size ${config.vocab_size}`);
  return { config, params, tokenizer };
}

export function readJsonIfExists<T>(path: string): T | undefined {
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as T) : undefined;
}
