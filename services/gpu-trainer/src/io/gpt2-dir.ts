import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { UserError } from "../errors.ts";
import { gpt2ParamSpecs, Gpt2ConfigSchema, type Gpt2Config } from "../models/gpt2.ts";
import { paramsFromStore, paramsToTensors, type Params } from "../models/params.ts";
import { loadTokenizer, type WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { writeTokenizerFiles } from "./bert-dir.ts";
import { parseOrExplain, readJsonFile, writeJsonFile } from "./json-file.ts";
import { readCheckpointWeights } from "./checkpoint-weights.ts";
import { writeSafetensors, type TensorMap } from "./safetensors.ts";
import { storeFromTensors, storeToTensors, type WeightStore } from "./weight-store.ts";

/**
 * A GPT-2 policy with a BERT WordPiece tokenizer, as Chinese GPT-2 checkpoints such as
 * uer/gpt2-chinese-cluecorpussmall ship it: texts start with [CLS] and end with [SEP].
 */
export interface Gpt2Model extends Gpt2Base {
  /** tfjs variables: the tfjs reference path's model (--engine tfjs, the parity tests). */
  params: Params;
}

/** What a GPT-2 is apart from its weights. */
export interface Gpt2Base {
  config: Gpt2Config;
  tokenizer: WordPieceTokenizer;
  hasValueHead: boolean;
}

/** A GPT-2 whose weights are a store (io/weight-store.ts): what the onnxruntime engine trains and generates from. */
export interface Gpt2Weights extends Gpt2Base {
  weights: WeightStore;
}

/**
 * Writes a checkpoint folder Hugging Face's GPT2LMHeadModel loads (config.json,
 * model.safetensors, vocab.txt); a value head is stored beside the weights under trl's
 * names (`v_head.summary.*`), which transformers ignores and trl reads.
 */
export function saveGpt2Dir(dir: string, model: Gpt2Model, extra: Record<string, unknown> = {}): void {
  writeGpt2Folder(dir, model, paramsToTensors(model.params), extra);
}

/** saveGpt2Dir from a weight store: the onnxruntime path writes what it trained, with no tfjs in between. */
export function writeGpt2Dir(dir: string, model: Gpt2Weights, extra: Record<string, unknown> = {}): void {
  const valueHead = model.weights.has("v_head.summary.weight");
  writeGpt2Folder(dir, model, storeToTensors(gpt2ParamSpecs(model.config, valueHead), model.weights), extra);
}

function writeGpt2Folder(dir: string, model: Gpt2Base, tensors: TensorMap, extra: Record<string, unknown>): void {
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, "model.safetensors"), tensors);
  writeTokenizerFiles(dir, model.tokenizer);
  for (const [name, value] of Object.entries(extra)) writeJsonFile(join(dir, name), value);
  writeJsonFile(join(dir, "config.json"), { ...model.config, architectures: ["GPT2LMHeadModel"] });
}

/**
 * Loads a GPT-2 folder. `valueHead`: give the policy a value head (a fresh one when the
 * folder has none, as trl does for a plain language model).
 */
export function loadGpt2Dir(dir: string, options: { valueHead?: boolean; seed?: number } = {}): Gpt2Model {
  const { weights, ...model } = readGpt2Dir(dir, options);
  return { ...model, params: paramsFromStore(gpt2ParamSpecs(model.config, model.hasValueHead), weights) };
}

/** loadGpt2Dir into a weight store, with no tfjs: the safetensors' arrays are the store. */
export function readGpt2Dir(dir: string, options: { valueHead?: boolean; seed?: number } = {}): Gpt2Weights {
  const configPath = join(dir, "config.json");
  const config = parseOrExplain(configPath, Gpt2ConfigSchema, readJsonFile(configPath, z.record(z.string(), z.unknown())));
  const { tensors, path: weightsPath } = readCheckpointWeights(dir);
  const valueHead = options.valueHead ?? tensors.has("v_head.summary.weight");
  // GPT2Model checkpoints (no LM head) name weights without the `transformer.` prefix.
  const aliases = (name: string) => [name, name.replace(/^transformer\./, "")];
  const weights = storeFromTensors(gpt2ParamSpecs(config, valueHead), tensors, weightsPath, {
    aliases,
    mayInit: (name) => name.startsWith("v_head."),
    seed: options.seed ?? 0,
  });
  const tokenizer = loadTokenizer(dir);
  if (tokenizer.size > config.vocab_size)
    throw new UserError(`${dir}: the vocabulary has ${tokenizer.size} tokens but config.json says vocab_size ${config.vocab_size}`);
  return { config, weights, tokenizer, hasValueHead: valueHead };
}

/** A copy of a tfjs model's variables as a weight store: where the tfjs reference path meets the engine (tests, --engine tfjs). */
export function gpt2WeightsOf(model: Gpt2Model): Gpt2Weights {
  const { params, ...base } = model;
  return { ...base, weights: new Map([...params].map(([name, v]) => [name, Float32Array.from(v.dataSync() as Float32Array)])) };
}
