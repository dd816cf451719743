import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { UserError } from "../errors.ts";
import { bertParamSpecs, bertWeightAliases, BertConfigSchema, type BertConfig } from "../models/bert.ts";
import { paramsFromStore, paramsToTensors, type Params } from "../models/params.ts";
import { vocabTxt } from "../tokenizer/vocab.ts";
import { loadTokenizer, type WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { parseOrExplain, readJsonFile, writeJsonFile } from "./json-file.ts";
import { readCheckpointWeights } from "./checkpoint-weights.ts";
import { writeSafetensors, type TensorMap } from "./safetensors.ts";
import { storeFromTensors, storeToTensors, type WeightStore } from "./weight-store.ts";

/** What a BERT-style model is apart from its weights. */
export interface BertBase {
  config: BertConfig;
  tokenizer: WordPieceTokenizer;
}

/** tfjs variables: the tfjs reference path's model (--engine tfjs, the parity tests, the simulated raters' taste model). */
export interface BertModel extends BertBase {
  params: Params;
}

/** A BERT-style model whose weights are a store (io/weight-store.ts): what the onnxruntime engine trains and scores with. */
export interface BertWeights extends BertBase {
  weights: WeightStore;
}

/**
 * What a config asks for that transformers' Bert/ErnieForSequenceClassification does not
 * compute (it would ignore these fields and score differently, without a warning).
 */
export function ranklabOnlyFeatures(config: BertConfig): string[] {
  const features: string[] = [];
  if (config.classifier_pooling === "mean") features.push('classifier_pooling "mean"');
  if (config.bigram_buckets > 0) features.push("bigram_buckets");
  if (!config.add_pooling_layer) features.push("add_pooling_layer false");
  return features;
}

/** The model_type ranklab writes for a model with ranklab-only features: transformers refuses it unless its loading code (README) is registered. */
const RANKLAB_PREFIX = "ranklab_";

/**
 * Hugging Face's config.json for the head: `num_labels` is derived from id2label there.
 * A model transformers computes exactly keeps model_type bert/ernie and the
 * Bert/ErnieForSequenceClassification architecture. One with ranklab-only features
 * (mean pooling, bigram embeddings, no pooler) is written as model_type
 * `ranklab_bert`/`ranklab_ernie` and architecture `RanklabBertForSequenceClassification`,
 * so AutoModelForSequenceClassification refuses it instead of loading it as plain BERT
 * (which pools on [CLS] and scores differently); the README gives the loading code.
 */
function hfConfig(config: BertConfig) {
  const labels = config.num_labels === 2 ? ["negative", "positive"] : Array.from({ length: config.num_labels }, (_, i) => `LABEL_${i}`);
  const own = ranklabOnlyFeatures(config).length > 0;
  const base = config.model_type === "ernie" ? "Ernie" : "Bert";
  return {
    ...config,
    model_type: own ? `${RANKLAB_PREFIX}${config.model_type}` : config.model_type,
    architectures: [own ? `Ranklab${base}ForSequenceClassification` : `${base}ForSequenceClassification`],
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
  writeBertFolder(dir, model, paramsToTensors(model.params), extra);
}

/** saveBertDir from a weight store: the onnxruntime path writes what it trained, with no tfjs in between. */
export function writeBertDir(dir: string, model: BertWeights, extra: Record<string, unknown> = {}): void {
  writeBertFolder(dir, model, storeToTensors(bertParamSpecs(model.config), model.weights), extra);
}

function writeBertFolder(dir: string, model: BertBase, tensors: TensorMap, extra: Record<string, unknown>): void {
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, "model.safetensors"), tensors);
  writeTokenizerFiles(dir, model.tokenizer);
  for (const [name, value] of Object.entries(extra)) writeJsonFile(join(dir, name), value);
  // config.json last: a folder with a config.json is a complete checkpoint.
  writeJsonFile(join(dir, "config.json"), hfConfig(model.config));
}

export function loadBertDir(dir: string, overrides: Partial<BertConfig> = {}): BertModel {
  const { weights, ...model } = readBertDir(dir, overrides);
  return { ...model, params: paramsFromStore(bertParamSpecs(model.config), weights) };
}

/** A copy of a tfjs model's variables as a weight store: where the tfjs reference path meets the engine. */
export function bertWeightsOf(model: BertModel): BertWeights {
  return {
    config: model.config,
    tokenizer: model.tokenizer,
    weights: new Map([...model.params].map(([name, v]) => [name, Float32Array.from(v.dataSync() as Float32Array)])),
  };
}

/** loadBertDir into a weight store, with no tfjs: the safetensors' arrays are the store. */
export function readBertDir(dir: string, overrides: Partial<BertConfig> = {}): BertWeights {
  const configPath = join(dir, "config.json");
  const raw = readJsonFile(configPath, z.record(z.string(), z.unknown()));
  // Hugging Face derives num_labels from id2label.
  const id2label = raw.id2label as Record<string, string> | undefined;
  const numLabels = id2label ? Object.keys(id2label).length : raw.num_labels;
  // ranklab_bert/ranklab_ernie: ranklab's own variants of those encoders (see hfConfig).
  const modelType =
    typeof raw.model_type === "string" && raw.model_type.startsWith(RANKLAB_PREFIX) ? raw.model_type.slice(RANKLAB_PREFIX.length) : raw.model_type;
  const config = parseOrExplain(configPath, BertConfigSchema, { ...raw, model_type: modelType, num_labels: numLabels, ...overrides });
  const { tensors, path: weightsPath } = readCheckpointWeights(dir);
  // Base encoders (BertModel) name weights without the `bert.` prefix.
  const prefix = config.model_type === "ernie" ? "ernie." : "bert.";
  const aliases = (name: string) => bertWeightAliases(name).flatMap((n) => [n, n.startsWith(prefix) ? n.slice(prefix.length) : n]);
  // A pretrained encoder without a head gets a fresh one (and a fresh pooler if it has none).
  const weights = storeFromTensors(bertParamSpecs(config), tensors, weightsPath, {
    aliases,
    mayInit: (name) => name.startsWith("classifier.") || name.includes(".pooler."),
  });
  const tokenizer = loadTokenizer(dir);
  if (tokenizer.size > config.vocab_size)
    throw new UserError(`${dir}: the vocabulary has ${tokenizer.size} tokens but config.json says vocab_size ${config.vocab_size}`);
  return { config, weights, tokenizer };
}

export function readJsonIfExists<T>(path: string): T | undefined {
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as T) : undefined;
}
