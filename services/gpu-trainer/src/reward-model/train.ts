import * as tf from "@tensorflow/tfjs";
import { existsSync, mkdirSync, rmSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadBertDir, readBertDir, readJsonIfExists, saveBertDir, writeBertDir, type BertModel, type BertWeights } from "../io/bert-dir.ts";
import { readSafetensors, writeSafetensors, type TensorMap } from "../io/safetensors.ts";
import { savePlotPng } from "../metrics/plot.ts";
import { BertConfigSchema, bertForward, bertParamSpecs } from "../models/bert.ts";
import { disposeParams, paramsFromStore } from "../models/params.ts";
import { initStore } from "../io/weight-store.ts";
import { UserError } from "../errors.ts";
import { buildCharVocab } from "../tokenizer/build-vocab.ts";
import { loadTokenizer, WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { createProgress } from "../util/progress.ts";
import { seededRandom, shuffled } from "../util/random.ts";
import { countPairs, pairwiseAccuracy, preferencePairs, readRankFile, type RankList } from "./rank-data.ts";
import { pretrainMlm } from "./pretrain-mlm.ts";
import { rankLoss } from "./rank-loss.ts";
import { encodeRewardItems, rewardInputOf, type RewardInput, type RewardItem } from "./reward-input.ts";
import { scoreItemsOnEngine } from "./score-engine.ts";
import { scoreItems } from "./score-tfjs.ts";
import type { RewardTrainConfig } from "./train-config.ts";
import { AdamW } from "../engine/adamw.ts";
import { dropoutMasks, OnnxBertEngine, rankLossGrad } from "../engine/bert-engine.ts";
import type { EngineName } from "../engine/engine-name.ts";

/** What <out>/last/state.json records so that a crashed run resumes where it stopped. */
interface TrainState {
  step: number;
  epoch: number;
  batchInEpoch: number;
  bestAccuracy: number;
  history: { step: number; loss?: number; accuracy?: number; margin?: number }[];
}

export interface RewardTrainResult {
  bestAccuracy: number;
  bestDir: string;
  steps: number;
  seconds: number;
  history: TrainState["history"];
}

/** The reward input a new model gets: the config's, or "pair" when the data has prompts and "concat" (whole texts) otherwise. */
function chosenRewardInput(config: RewardTrainConfig, lists: readonly RankList[]): RewardInput {
  if (config.rewardInput !== "auto") return config.rewardInput;
  return lists.some((l) => l.prompt) ? "pair" : "concat";
}

function freshModel(config: RewardTrainConfig, lists: RankList[]): BertWeights {
  return newRewardModel(config.model, {
    maxLength: config.maxLength,
    seed: config.seed,
    rewardInput: chosenRewardInput(config, lists),
    vocabFrom: config.vocabFrom,
    texts: lists.flatMap((l) => [...l.texts, l.prompt ?? ""]),
  });
}

/**
 * A reward model from scratch (one output, freshly initialised) of the shape `model`
 * says: its vocabulary from `vocabFrom`'s vocab.txt, else the characters of `texts`.
 * `reward train` and the sentiment pretraining (pretrain-sentiment.ts) both build theirs here.
 */
export function newRewardModel(
  model: RewardTrainConfig["model"],
  options: { maxLength: number; seed: number; rewardInput: RewardInput; vocabFrom?: string | undefined; texts: readonly string[] },
): BertWeights {
  const tokenizer = options.vocabFrom
    ? loadTokenizer(options.vocabFrom)
    : new WordPieceTokenizer(buildCharVocab(options.texts, model.maxVocab), { lowercase: true, maxCharsPerWord: 100 });
  const vocab = tokenizer.vocab;
  const bert = BertConfigSchema.parse({
    vocab_size: vocab.tokens.length,
    hidden_size: model.hiddenSize,
    num_hidden_layers: model.layers,
    num_attention_heads: model.heads,
    intermediate_size: model.intermediateSize,
    max_position_embeddings: options.maxLength,
    num_labels: 1,
    classifier_pooling: model.pooling,
    bigram_buckets: model.bigramBuckets,
    reward_input: options.rewardInput,
  });
  return { config: bert, tokenizer, weights: initStore(bertParamSpecs(bert), options.seed) };
}

/** Every text of `lists` as the reward model sees it, flattened in list order. */
const itemsOf = (lists: readonly RankList[]): RewardItem[] => lists.flatMap((l) => l.texts.map((completion) => ({ prompt: l.prompt, completion })));

/** Rewards for every text of `lists`, flattened in list order: [Σ texts]. */
function forwardLists(model: BertModel, lists: RankList[], config: RewardTrainConfig, dropout: number): tf.Tensor1D {
  const items = itemsOf(lists);
  const enc = encodeRewardItems(model.tokenizer, rewardInputOf(model.config), items, config.maxLength);
  const out = bertForward(
    model.params,
    model.config,
    {
      inputIds: tf.tensor2d(enc.inputIds, [enc.batch, enc.length], "int32"),
      attentionMask: tf.tensor2d(enc.attentionMask, [enc.batch, enc.length], "int32"),
      tokenTypeIds: tf.tensor2d(enc.tokenTypeIds, [enc.batch, enc.length], "int32"),
    },
    dropout,
  );
  return tf.reshape(out, [items.length]) as tf.Tensor1D;
}

/** Index pairs (better, worse) into the flattened texts of `lists`: every pair of different levels, each with its list's weight. */
function batchPairs(lists: RankList[]): { better: Int32Array; worse: Int32Array; weights?: Float32Array } {
  const better: number[] = [];
  const worse: number[] = [];
  const weights: number[] = [];
  let offset = 0;
  for (const list of lists) {
    for (const [i, j] of preferencePairs(list)) {
      better.push(offset + i);
      worse.push(offset + j);
      weights.push(list.weight ?? 1);
    }
    offset += list.texts.length;
  }
  // Unweighted lists keep the plain mean (and its exact arithmetic).
  const weighted = weights.some((w) => w !== 1);
  return { better: Int32Array.from(better), worse: Int32Array.from(worse), ...(weighted ? { weights: Float32Array.from(weights) } : {}) };
}

/** Rewards for items, on whichever engine holds the weights. */
export type ItemScorer = (items: readonly RewardItem[]) => Promise<number[]>;

/** The reward for every text of every list, list by list. */
export async function scoreLists(score: ItemScorer, lists: readonly RankList[]): Promise<number[][]> {
  const flat = await score(itemsOf(lists));
  let k = 0;
  return lists.map((l) => l.texts.map(() => flat[k++]!));
}

/** Pairwise accuracy (over the pairs the lists order), mean margin and mean reward on `lists`. */
export async function evaluate(score: ItemScorer, lists: readonly RankList[]) {
  const perList = await scoreLists(score, lists);
  const flat = perList.flat();
  return { ...pairwiseAccuracy(lists, perList), meanReward: flat.reduce((a, b) => a + b, 0) / Math.max(1, flat.length) };
}

/**
 * Mean and standard deviation of the rewards over the distinct training texts:
 * stored with the checkpoint so PPO (and /v1/score) can put a reward on a scale that
 * does not change from one reward model to the next.
 */
async function rewardScale(score: ItemScorer, lists: readonly RankList[]): Promise<{ mean: number; std: number }> {
  const seen = new Set<string>();
  const items = itemsOf(lists).filter((i) => {
    const key = `${i.prompt ?? ""}\u0000${i.completion}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const rewards = await score(items);
  const mean = rewards.reduce((a, b) => a + b, 0) / Math.max(1, rewards.length);
  const std = Math.sqrt(rewards.reduce((a, r) => a + (r - mean) ** 2, 0) / Math.max(1, rewards.length));
  return { mean, std: std > 0 ? std : 1 };
}

/** A checkpoint folder's scorer on `engine`, for a figure taken after training (the best model's reward scale). */
export async function folderScorer(dir: string, engine: EngineName, maxLength: number): Promise<{ score: ItemScorer; close: () => Promise<void> }> {
  if (engine === "tfjs") {
    const model = loadBertDir(dir);
    return { score: async (items) => scoreItems(model, items, { maxLength, batchSize: 64 }), close: async () => disposeParams(model.params) };
  }
  const model = readBertDir(dir);
  const scorer = await OnnxBertEngine.fromStore(model);
  return { score: (items) => scoreItemsOnEngine(scorer, model, items, { maxLength, batchSize: 64 }), close: () => scorer.close() };
}

/**
 * One training step on either engine, and the optimiser state <out>/last keeps. Both write
 * tf.train.adam's getWeights() layout (the step count, then every parameter's first
 * moments, then its second moments, in the model's parameter order), so a run resumes on
 * either engine whatever engine saved it.
 */
interface RewardStepper {
  /** One Adam step on the rank loss over the lists' pairs; returns the loss before it. */
  step(lists: RankList[], pairs: ReturnType<typeof batchPairs>): Promise<number>;
  /** Rewards from the weights as they are now (no dropout): dev evaluation. */
  score: ItemScorer;
  /** Writes the weights as they are now as a checkpoint folder. */
  saveModel(dir: string, extra: Record<string, unknown>): void;
  save(path: string): Promise<void>;
  load(path: string): Promise<void>;
  dispose(): Promise<void>;
}

/** The tfjs reference path: variables made from the store, trained by tf.train.adam. */
function tfjsStepper(store: BertWeights, config: RewardTrainConfig): RewardStepper {
  const model: BertModel = { config: store.config, tokenizer: store.tokenizer, params: paramsFromStore(bertParamSpecs(store.config), store.weights) };
  const optimizer = tf.train.adam(config.learningRate);
  const variables = [...model.params.values()];
  return {
    async step(lists, { better, worse, weights }) {
      const loss = optimizer.minimize(() => rankLoss(forwardLists(model, lists, config, config.dropout), better, worse, weights), true, variables)!;
      const value = (await loss.data())[0]!;
      loss.dispose();
      return value;
    },
    score: async (items) => scoreItems(model, items, { maxLength: config.maxLength, batchSize: 64 }),
    saveModel(dir, extra) {
      saveBertDir(dir, model, extra);
    },
    async save(path) {
      const weights = await optimizer.getWeights();
      const map: TensorMap = new Map();
      // Float32Array.from: the step count is an int32 tensor, and safetensors here holds F32 values.
      weights.forEach((w, i) => map.set(`${String(i).padStart(5, "0")}:${w.name}`, { shape: w.tensor.shape, data: Float32Array.from(w.tensor.dataSync()) }));
      writeSafetensors(path, map);
    },
    async load(path) {
      // Adam's moments are matched to variables by position, and the parameter order is fixed by the config.
      const weights = readOptimizerEntries(path).map(({ name, shape, data }) => ({ name, tensor: tf.tensor(data, shape) }));
      await optimizer.setWeights(weights);
    },
    async dispose() {
      optimizer.dispose();
      disposeParams(model.params);
    },
  };
}

/** An optimizer.safetensors file's entries in order: [step count, first moments…, second moments…]. */
function readOptimizerEntries(path: string): { name: string; shape: number[]; data: Float32Array }[] {
  const { tensors } = readSafetensors(path);
  return [...tensors.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([key, t]) => ({ name: key.slice(key.indexOf(":") + 1), shape: t.shape, data: t.data }));
}

/**
 * The rank loss on the onnxruntime engine: forward graph (with the config's dropout, its masks drawn from a generator
 * seeded by the config), rankLossGrad, backward graph, AdamW as tf.train.adam (ε 1e-7, no decay).
 */
async function onnxStepper(model: BertWeights, config: RewardTrainConfig): Promise<RewardStepper> {
  // The engine trains the store's own arrays in place: evaluation and saving read them, with no copy.
  const engine = await OnnxBertEngine.fromStore(model, { dropout: config.dropout > 0 });
  const random = seededRandom(config.seed + 101);
  const adam = new AdamW(engine.weights, { learningRate: config.learningRate });
  const specs = bertParamSpecs(model.config);
  const names = specs.map((spec) => spec.name);
  const shapes = new Map(specs.map((spec) => [spec.name, spec.shape]));
  // tf.train.adam names its moments after the variables (`<name>#<id>/m`); what follows the name is never read back.
  const slotName = (name: string) => `${name}#0`;
  return {
    async step(lists, { better, worse, weights }) {
      const enc = encodeRewardItems(model.tokenizer, rewardInputOf(model.config), itemsOf(lists), config.maxLength);
      const masks = config.dropout > 0 ? dropoutMasks(model.config, enc.batch, enc.length, config.dropout, random) : undefined;
      const forward = await engine.forward(enc, masks);
      const { loss, dRewards } = rankLossGrad(forward.outputs, better, worse, weights);
      adam.step(await engine.backward(forward, dRewards));
      return loss;
    },
    score: (items) => scoreItemsOnEngine(engine, model, items, { maxLength: config.maxLength, batchSize: 64 }),
    saveModel(dir, extra) {
      writeBertDir(dir, model, extra);
    },
    async save(path) {
      const { steps, m, v } = adam.state();
      const map: TensorMap = new Map();
      map.set("00000:iter", { shape: [], data: Float32Array.of(steps) });
      const shape = (name: string) => shapes.get(name)!;
      names.forEach((name, i) => map.set(`${String(1 + i).padStart(5, "0")}:${slotName(name)}/m`, { shape: shape(name), data: m.get(name)! }));
      names.forEach((name, i) => map.set(`${String(1 + names.length + i).padStart(5, "0")}:${slotName(name)}/v`, { shape: shape(name), data: v.get(name)! }));
      writeSafetensors(path, map);
    },
    async load(path) {
      const entries = readOptimizerEntries(path);
      if (entries.length !== 1 + 2 * names.length)
        throw new UserError(
          `${path}: ${entries.length} optimizer tensors, expected ${1 + 2 * names.length} (step count and two moments for each of ${names.length} parameters)`,
        );
      adam.load({
        steps: Math.round(entries[0]!.data[0]!),
        m: new Map(names.map((name, i) => [name, entries[1 + i]!.data])),
        v: new Map(names.map((name, i) => [name, entries[1 + names.length + i]!.data])),
      });
    },
    async dispose() {
      await engine.close();
    },
  };
}

/** Writes <out>/last via a temporary folder and a rename, so a crash mid-save keeps the previous one. */
async function saveLast(config: RewardTrainConfig, stepper: RewardStepper, state: TrainState) {
  const last = join(config.out, "last");
  const tmp = join(config.out, "last.tmp");
  rmSync(tmp, { recursive: true, force: true });
  stepper.saveModel(tmp, { "run.json": config, "state.json": state });
  await stepper.save(join(tmp, "optimizer.safetensors"));
  rmSync(last, { recursive: true, force: true });
  renameSync(tmp, last);
}

function plotCurves(config: RewardTrainConfig, history: TrainState["history"]) {
  const loss = history.filter((h) => h.loss !== undefined).map((h) => ({ x: h.step, y: h.loss! }));
  const accuracy = history.filter((h) => h.accuracy !== undefined).map((h) => ({ x: h.step, y: h.accuracy! }));
  savePlotPng(join(config.logsDir, `${config.runName}.png`), [
    { title: "train loss (pairwise rank loss)", xLabel: "global step", series: [{ name: "loss", points: loss }] },
    { title: "dev pairwise accuracy", xLabel: "global step", series: [{ name: "accuracy", points: accuracy }] },
  ]);
  writeFileSync(join(config.logsDir, `${config.runName}.jsonl`), history.map((h) => JSON.stringify(h)).join("\n") + "\n");
}

/**
 * `reward train`: a reward model from rank-list TSV or pairwise JSONL files (the
 * config's `train` and `dev`). Resumes from <out>/last when it exists.
 */
export async function trainRewardModel(config: RewardTrainConfig, log: (line: string) => void = console.log): Promise<RewardTrainResult> {
  if (!config.train || !config.dev) throw new UserError("reward train: --train FILE (one or more) and --dev FILE are required");
  return trainRewardModelOn(config, config.train.flatMap(readRankFile), readRankFile(config.dev), log);
}

/**
 * Trains a reward model on rank lists (best first, ties by level) with the pairwise
 * rank loss over every pair of different levels; the best checkpoint by dev pairwise
 * accuracy goes to <out>/best. Resumes from <out>/last when it exists.
 */
export async function trainRewardModelOn(
  config: RewardTrainConfig,
  trainLists: RankList[],
  devLists: RankList[],
  log: (line: string) => void = console.log,
): Promise<RewardTrainResult> {
  // 1. Data: lists in memory; a list that orders nothing (all tied) teaches nothing.
  trainLists = trainLists.filter((l) => preferencePairs(l).length > 0);
  if (trainLists.length === 0) throw new UserError("reward model: the training data states no preference (every list is tied or has one text)");
  mkdirSync(config.out, { recursive: true });
  mkdirSync(config.logsDir, { recursive: true });

  // 2. Model: resume <out>/last, or start from a base encoder, or from scratch.
  const lastDir = join(config.out, "last");
  const resuming = existsSync(join(lastDir, "config.json")) && existsSync(join(lastDir, "state.json"));
  // The model is a weight store (io/weight-store.ts): read straight from its folder, or fresh (initStore).
  let model: BertWeights;
  if (resuming) model = readBertDir(lastDir);
  else if (config.baseModel) model = readBertDir(config.baseModel, { num_labels: 1 });
  else {
    model = freshModel(config, trainLists);
    if (config.pretrain.epochs > 0) {
      // Unlabeled use of the training texts only; dev texts stay unseen. On the config's engine: onnxruntime trains
      // the store in place; tfjs (the reference) trains variables made from it and writes them back.
      const texts = [...new Set(trainLists.flatMap((l) => l.texts))];
      log(`masked-LM pretraining on ${texts.length} training texts for ${config.pretrain.epochs} epoch(s) on ${config.engine}`);
      await pretrainMlm(
        model,
        texts,
        { ...config.pretrain, maxLength: config.maxLength, dropout: config.dropout, seed: config.seed, quiet: config.quiet, engine: config.engine },
        log,
      );
    }
  }
  // A base encoder from elsewhere has no reward input; one of ranklab's keeps the one it was trained with.
  if (!model.config.reward_input) model.config = { ...model.config, reward_input: chosenRewardInput(config, trainLists) };
  // One rule picks the engine: the config's (default onnx).
  const engine = config.engine;
  const stepper = engine === "onnx" ? await onnxStepper(model, config) : tfjsStepper(model, config);
  const state: TrainState = resuming
    ? readJsonIfExists<TrainState>(join(lastDir, "state.json"))!
    : { step: 0, epoch: 0, batchInEpoch: 0, bestAccuracy: -1, history: [] };
  if (resuming) {
    if (existsSync(join(lastDir, "optimizer.safetensors"))) await stepper.load(join(lastDir, "optimizer.safetensors"));
    log(`resuming from ${lastDir} at global step ${state.step} (epoch ${state.epoch}, best dev accuracy ${state.bestAccuracy.toFixed(4)})`);
  }

  const stepsPerEpoch = Math.ceil(trainLists.length / config.listsPerStep);
  const totalSteps = stepsPerEpoch * config.epochs;
  log(
    `training reward model: ${trainLists.length} rank lists (${countPairs(trainLists)} pairs), dev ${devLists.length} lists (${countPairs(devLists)} pairs), ` +
      `${stepsPerEpoch} steps/epoch × ${config.epochs} epochs, vocab ${model.tokenizer.size}, hidden ${model.config.hidden_size} × ${model.config.num_hidden_layers} layers, input ${rewardInputOf(model.config)}, on ${engine === "onnx" ? "onnxruntime" : `tfjs ${tf.getBackend()}`}${config.dropout > 0 ? `, dropout ${config.dropout}` : ""}`,
  );
  const progress = createProgress(totalSteps, "reward", config.quiet, log);
  const started = performance.now();
  let windowStart = performance.now();
  let windowSteps = 0;
  let windowLoss = 0;

  const evaluateAndSave = async () => {
    const dev = await evaluate(stepper.score, devLists);
    state.history.push({ step: state.step, accuracy: dev.accuracy, margin: dev.margin });
    progress.log(`Evaluation acc: ${dev.accuracy.toFixed(4)} (margin ${dev.margin.toFixed(3)}, mean reward ${dev.meanReward.toFixed(3)}, ${dev.pairs} pairs)`);
    if (dev.accuracy > state.bestAccuracy) {
      state.bestAccuracy = dev.accuracy;
      stepper.saveModel(join(config.out, "best"), {
        "metrics.json": { accuracy: dev.accuracy, margin: dev.margin, mean_reward: dev.meanReward, step: state.step },
        "run.json": config,
      });
      progress.log(`best model saved to ${join(config.out, "best")} (accuracy ${dev.accuracy.toFixed(4)})`);
    }
    await saveLast(config, stepper, state);
    plotCurves(config, state.history);
  };

  // 3. Epochs of shuffled rank lists; the shuffle is seeded per epoch so a resumed run sees the same order.
  for (; state.epoch < config.epochs; state.epoch++, state.batchInEpoch = 0) {
    const order = shuffled(trainLists, seededRandom(config.seed + state.epoch));
    for (; state.batchInEpoch < stepsPerEpoch; ) {
      const lists = order.slice(state.batchInEpoch * config.listsPerStep, (state.batchInEpoch + 1) * config.listsPerStep);
      // 4. One step: rewards for every text, rank loss over every pair, Adam.
      const value = await stepper.step(lists, batchPairs(lists));
      state.step++;
      state.batchInEpoch++;
      windowSteps++;
      windowLoss += value;
      progress.update(state.step);
      if (state.step % config.logEvery === 0) {
        const speed = windowSteps / ((performance.now() - windowStart) / 1000);
        state.history.push({ step: state.step, loss: windowLoss / windowSteps });
        progress.log(`global step ${state.step}, epoch: ${state.epoch + 1}, loss: ${(windowLoss / windowSteps).toFixed(5)}, speed: ${speed.toFixed(2)} step/s`);
        windowStart = performance.now();
        windowSteps = 0;
        windowLoss = 0;
      }
      // 5. Evaluate on dev, keep the best checkpoint, save state to resume.
      if (state.step % config.evalEvery === 0) await evaluateAndSave();
    }
  }
  if (state.history.at(-1)?.step !== state.step || state.history.at(-1)?.accuracy === undefined) await evaluateAndSave();
  progress.stop();
  await stepper.dispose();
  // The best model's reward scale over the training texts, beside its dev figures.
  const best = await folderScorer(join(config.out, "best"), engine, config.maxLength);
  const scale = await rewardScale(best.score, trainLists).finally(() => best.close());
  const metricsPath = join(config.out, "best", "metrics.json");
  writeFileSync(
    metricsPath,
    `${JSON.stringify({ ...readJsonIfExists<Record<string, number>>(metricsPath), train_reward_mean: scale.mean, train_reward_std: scale.std }, null, 2)}\n`,
  );
  const seconds = (performance.now() - started) / 1000;
  log(
    `done: ${state.step} steps in ${seconds.toFixed(1)} s; best dev accuracy ${state.bestAccuracy.toFixed(4)}; curve in ${join(config.logsDir, `${config.runName}.png`)}`,
  );
  return { bestAccuracy: state.bestAccuracy, bestDir: join(config.out, "best"), steps: state.step, seconds, history: state.history };
}
