import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { z } from "zod";
import { corpusIdentity, isHeldOut, readCorpusFiles, type CorpusReview } from "../data/corpus-csv.ts";
import { generateRankLists, generateReviews, toRankTsv, type Review } from "../data/review-corpus.ts";
import { writeBertDir, type BertWeights } from "../io/bert-dir.ts";
import { writeGpt2Dir, type Gpt2Weights } from "../io/gpt2-dir.ts";
import { initStore } from "../io/weight-store.ts";
import { writeJsonFile } from "../io/json-file.ts";
import { LmTrainSchema, pretrainGpt2 } from "../lm/pretrain-gpt2.ts";
import { BertConfigSchema, bertParamSpecs } from "../models/bert.ts";
import { gpt2ParamSpecs, Gpt2ConfigSchema } from "../models/gpt2.ts";
import { exportBertOnnx } from "../onnx/export-bert.ts";
import type { RewardItem } from "../reward-model/reward-input.ts";
import { modelReward } from "../reward-functions/model-rewards.ts";
import { exportGpt2Onnx } from "../onnx/export-gpt2.ts";
import { isModelDir, rewardBaseFromClassifier } from "../reward-model/reward-base.ts";
import { ClassifierTrainSchema, trainClassifier, type LabelledText } from "../sentiment/train-classifier.ts";
import { buildCharVocab } from "../tokenizer/build-vocab.ts";
import { loadTokenizer, WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { seededRandom } from "../util/random.ts";
import { corpusPrompts, PROMPT_RULE } from "./corpus-prompts.ts";

/** The seed's prompts: the demo continues them, so the corpus opens reviews with them. */
export const SEED_PROMPTS = ["刚收到货，感觉有", "这部电影很", "说实话，真的很", "这次购物总的来说体验很"];

const GENERATED_POLICY = {
  n_embd: 128,
  n_layer: 2,
  n_head: 4,
  train: { epochs: 2, batchSize: 32, learningRate: 1e-3, warmupSteps: 50, maxLength: 64, seed: 0, quiet: false, engine: "onnx" as const },
};
/**
 * The real-corpus policy: sized by a measured budget (docs/trainer.md, "Real reviews"):
 * pretrain-speed.ts measured 2 × 128 at ~12,500 tokens/s on the 2-core machine, and
 * one epoch of the corpora's ~2.6M training tokens at ~3.4 min.
 */
const CORPUS_POLICY = {
  n_embd: 128,
  n_layer: 2,
  n_head: 4,
  train: { epochs: 2, batchSize: 32, learningRate: 1e-3, warmupSteps: 100, maxLength: 64, seed: 0, quiet: false, engine: "onnx" as const },
};

const PolicySchema = z
  .object({
    n_embd: z.number().int(),
    n_layer: z.number().int(),
    n_head: z.number().int(),
    // Checked by LmTrainSchema once merged over the defaults (a partial schema would fill in its own defaults).
    train: z.record(z.string(), z.unknown()),
  })
  .partial()
  .strict();

/** Options for building the defaults from real reviews (`corpus`). */
export const CorpusOptionsSchema = z
  .object({
    // The share of reviews held out (by a hash of the text): the classifier's accuracy and the PPO prompts come from them.
    heldOutFraction: z.number().gt(0).lt(0.5).default(0.05),
    // At most this many training reviews pretrain the policy (a stable subset); all when absent.
    policyReviews: z.number().int().min(100).optional(),
    // The classifier (on tfjs) learns from 30,000 of them (~45,000 examples with prefixes): 20,000 for one epoch
    // reached 0.868 held-out accuracy in 111 s on the shared 2-core machine; all 69,000 for 2 epochs would take ~15 min.
    classifierReviews: z.number().int().min(100).default(30000),
    // Held-out reviews the classifier's accuracy is measured on.
    classifierHeldOut: z.number().int().min(50).default(2000),
    // Review openings added to the seed's four prompts: 12, so `npm start`'s runs (completions for every active
    // prompt) grow 4×, not more.
    prompts: z.number().int().min(0).default(12),
    // Characters in the vocabulary: 3,000 cover 99.8% of the corpora's characters.
    vocabSize: z.number().int().min(200).default(3000),
  })
  .strict();

/**
 * What `prepare` makes, sized so it takes minutes on 2 CPU cores: a corpus (generated
 * reviews, or real ones from `corpus`: CSV files `label,review` / `cat,label,review`),
 * a character vocabulary, a small GPT-2 pretrained on it, a sentiment classifier on
 * its labels, and PPO's prompts.
 */
export const PrepareSchema = z
  .object({
    home: z.string().default(".ranklab"),
    seed: z.number().int().default(1),
    // 12,000 distinct reviews: enough variety that the policy does not just memorise (generated corpus only).
    reviews: z.number().int().min(100).default(12000),
    corpus: z.array(z.string().min(1)).min(1).optional(),
    corpusOptions: CorpusOptionsSchema.default(CorpusOptionsSchema.parse({})),
    policy: PolicySchema.default({}),
    classifier: z
      .object({
        hidden_size: z.number().int().default(64),
        layers: z.number().int().default(1),
        heads: z.number().int().default(2),
        train: ClassifierTrainSchema.default({
          epochs: 2,
          batchSize: 32,
          learningRate: 1e-3,
          maxLength: 64,
          dropout: 0.1,
          seed: 0,
          quiet: false,
          engine: "onnx",
        }),
      })
      .strict()
      .default({
        hidden_size: 64,
        layers: 1,
        heads: 2,
        train: { epochs: 2, batchSize: 32, learningRate: 1e-3, maxLength: 64, dropout: 0.1, seed: 0, quiet: false, engine: "onnx" },
      }),
    quiet: z.boolean().default(false),
  })
  .strict();
export type PrepareOptions = z.infer<typeof PrepareSchema>;

/** The policy's size and training: the defaults for the corpus in use, under what the options give. */
function resolvePolicy(options: PrepareOptions) {
  const base = options.corpus ? CORPUS_POLICY : GENERATED_POLICY;
  const { train, ...size } = options.policy;
  return { ...base, ...size, train: LmTrainSchema.parse({ ...base.train, ...train }) };
}

export interface Prepared {
  policyDir: string;
  classifierDir: string;
  /** The loop's reward base: the classifier with a one-output head (its log-odds), which the first reward model fine-tunes. */
  rewardBaseDir: string;
  dataDir: string;
  /** prompts.json: PPO's prompts (the seed's four, plus real review openings when made from a corpus). */
  promptsFile: string;
  prompts: string[];
  cached: boolean;
}

export const preparedPaths = (home: string) => ({
  dataDir: join(home, "data"),
  policyDir: join(home, "models", "policy-gpt2"),
  classifierDir: join(home, "models", "sentiment-classifier"),
  rewardBaseDir: join(home, "models", "reward-base"),
  promptsFile: join(home, "models", "prompts.json"),
  stamp: join(home, "models", "prepare.json"),
});

const PromptsFileSchema = z.object({ prompts: z.array(z.string().min(1)).min(1), from: z.string(), rule: z.string().optional() });

/** The rule prompts.json's openings were chosen by (corpus-prompts.ts), if it records one. */
function promptsRule(home: string): string | undefined {
  const file = preparedPaths(home).promptsFile;
  return existsSync(file) ? PromptsFileSchema.parse(JSON.parse(readFileSync(file, "utf8"))).rule : undefined;
}

function writePrompts(file: string, prompts: string[], from: string, rule: string | undefined, log: (line: string) => void): void {
  writeJsonFile(file, { prompts, from, ...(rule ? { rule } : {}) });
  log(`prepare: ${prompts.length} PPO prompts (${from}${rule ? `; ${rule}` : ""}) in ${file}`);
}

const corpusPromptsFrom = (files: readonly string[]) => `the seed's four and openings of held-out reviews from ${files.map((f) => basename(f)).join(", ")}`;

/** Each label's held-out reviews in a stable order (a hash of the text and the seed): the order openings are tried in. */
function orderedHeldOut(heldOut: readonly CorpusReview[], seed: number) {
  return {
    positive: stableSubset(
      heldOut.filter((h) => h.label === 1),
      Number.POSITIVE_INFINITY,
      seed,
    ),
    negative: stableSubset(
      heldOut.filter((h) => h.label === 0),
      Number.POSITIVE_INFINITY,
      seed,
    ),
  };
}

/** The corpus files read, and their reviews split by a hash of the text: the same split for every step that needs one. */
function splitCorpus(files: readonly string[], heldOutFraction: number) {
  const parsed = readCorpusFiles(files);
  const all = parsed.flatMap((f) => f.reviews);
  return { parsed, all, train: all.filter((r) => !isHeldOut(r.text, heldOutFraction)), heldOut: all.filter((r) => isHeldOut(r.text, heldOutFraction)) };
}

/** New prompts for cached real-corpus models: the same held-out split, scored by the classifier prepare trained. */
async function remakeCorpusPrompts(
  files: readonly string[],
  options: PrepareOptions,
  paths: ReturnType<typeof preparedPaths>,
  log: (line: string) => void,
): Promise<void> {
  const { heldOut } = splitCorpus(files, options.corpusOptions.heldOutFraction);
  const classifier = await classifierScorer(paths.classifierDir);
  try {
    const prompts = await corpusPrompts(
      SEED_PROMPTS,
      orderedHeldOut(heldOut, options.seed),
      options.corpusOptions.prompts,
      classifier.tokenizer,
      classifier.classify,
    );
    log(`prepare: the models are cached; choosing PPO's prompts again (${paths.promptsFile} was made by another rule)`);
    writePrompts(paths.promptsFile, prompts, corpusPromptsFrom(files), PROMPT_RULE, log);
  } finally {
    await classifier.close();
  }
}

/** The classifier a folder holds as PPO's demo scores with it (modelReward: its onnxruntime scorer), for prompt choice. */
async function classifierScorer(dir: string) {
  const reward = await modelReward(dir);
  return {
    tokenizer: loadTokenizer(dir),
    classify: (items: RewardItem[]) => reward.score(items.map((i) => ({ prompt: i.prompt ?? "", response: i.completion }))),
    close: async () => reward.close?.(),
  };
}

/** The prompts `prepare` wrote under `home`, or the seed's four when it has not run there (or ran before prompts.json existed). */
export function readPreparedPrompts(home: string): string[] {
  const file = preparedPaths(home).promptsFile;
  if (!existsSync(file)) return [...SEED_PROMPTS];
  return PromptsFileSchema.parse(JSON.parse(readFileSync(file, "utf8"))).prompts;
}

/**
 * The corpus files the models under `home` were made from (recorded in prepare.json),
 * when they are all still there; undefined for generated reviews, no models, or files gone.
 */
export function preparedCorpus(home: string): string[] | undefined {
  const { stamp } = preparedPaths(home);
  if (!existsSync(stamp)) return undefined;
  const files = (JSON.parse(readFileSync(stamp, "utf8")) as { corpus?: { path: string }[] }).corpus?.map((c) => c.path);
  return files && files.length > 0 && files.every((f) => existsSync(f)) ? files : undefined;
}

/**
 * A review and, half the time, a prefix of it that already shows its sentiment (the
 * opening's continuation): PPO scores continuations cut at a token limit, so the
 * classifier must judge partial reviews too.
 */
function classifierExamples(reviews: readonly Review[], seed: number): LabelledText[] {
  const random = seededRandom(seed);
  return reviews.flatMap((r) => {
    const label = r.label === "positive" ? 1 : 0;
    const out: LabelledText[] = [{ text: r.text, label }];
    const shown = r.text.indexOf("，", r.stem.length);
    if (shown > 0 && random() < 0.5) out.push({ text: r.text.slice(0, shown + Math.floor(random() * (r.text.length - shown))), label });
    return out;
  });
}

/**
 * Real reviews, and half the time a prefix of at least 6 characters (PPO scores
 * prompt + a continuation cut at a token limit): the label is the whole review's.
 */
function corpusClassifierExamples(reviews: readonly CorpusReview[], seed: number): LabelledText[] {
  const random = seededRandom(seed);
  return reviews.flatMap((r) => {
    const out: LabelledText[] = [{ text: r.text, label: r.label }];
    const chars = [...r.text];
    if (chars.length > 12 && random() < 0.5) out.push({ text: chars.slice(0, 6 + Math.floor(random() * (chars.length - 6))).join(""), label: r.label });
    return out;
  });
}

/** The first `max` in a stable order (a hash of the text and the seed), so a capped subset is the same on every run; all (in the input's order) when `max` is undefined. */
function stableSubset<T extends { text: string }>(items: readonly T[], max: number | undefined, seed: number): T[] {
  if (max === undefined) return [...items];
  return items
    .map((item) => ({ item, k: hashKey(seed, item.text) }))
    .sort((a, b) => a.k - b.k)
    .slice(0, max)
    .map((x) => x.item);
}
const hashKey = (seed: number, text: string) => createHash("sha1").update(`${seed}\u0000${text}`).digest().readUInt32BE(0);

interface Corpus {
  /** Texts the policy is pretrained on. */
  lmTexts: string[];
  /** The training texts the vocabulary is built from. */
  vocabTexts: string[];
  classifierTrain: LabelledText[];
  classifierHeldOut: LabelledText[];
  /** PPO's prompts; a corpus's openings are chosen with the trained classifier (corpus-prompts.ts). */
  prompts: (tokenizer: WordPieceTokenizer, classify: (items: RewardItem[]) => Promise<number[]>) => Promise<string[]>;
  promptsFrom: string;
  vocabSize: number;
  /** Written to the classifier's metrics.json. */
  summary: Record<string, unknown>;
}

function generatedCorpus(options: PrepareOptions, dataDir: string, log: (line: string) => void): Corpus {
  // The corpus, and rank lists from the same generator (for reward-model training).
  const reviews = generateReviews(options.reviews, options.seed);
  writeFileSync(join(dataDir, "reviews.jsonl"), reviews.map((r) => JSON.stringify(r)).join("\n") + "\n");
  const trainLists = generateRankLists(2000, options.seed + 1);
  writeFileSync(join(dataDir, "rank_train.tsv"), toRankTsv(trainLists));
  writeFileSync(join(dataDir, "rank_dev.tsv"), toRankTsv(generateRankLists(300, options.seed + 2, new Set(trainLists.flatMap((l) => l.texts)))));
  log(`prepare: ${reviews.length} generated reviews and 2,300 rank lists in ${dataDir}`);
  const heldOutReviews = generateReviews(options.reviews + 600, options.seed).slice(options.reviews);
  return {
    lmTexts: reviews.map((r) => r.text),
    vocabTexts: reviews.map((r) => r.text),
    classifierTrain: classifierExamples(reviews, options.seed),
    classifierHeldOut: classifierExamples(heldOutReviews, options.seed + 9),
    prompts: async () => [...SEED_PROMPTS],
    promptsFrom: "the seed's prompts",
    vocabSize: 8000,
    summary: { corpus: "generated", reviews: reviews.length, held_out_reviews: heldOutReviews.length },
  };
}

function realCorpus(files: readonly string[], options: PrepareOptions, dataDir: string, log: (line: string) => void): Corpus {
  const c = options.corpusOptions;
  const { parsed, all, train, heldOut } = splitCorpus(files, c.heldOutFraction);
  for (const f of parsed) log(`prepare: ${f.file}: ${f.reviews.length} reviews (${f.columns})${f.emptySkipped > 0 ? `, ${f.emptySkipped} empty skipped` : ""}`);
  const lmReviews = stableSubset(train, c.policyReviews, options.seed);
  const clsReviews = stableSubset(train, c.classifierReviews, options.seed + 1);
  const clsHeldOut = stableSubset(heldOut, c.classifierHeldOut, options.seed + 2);
  const positives = (rs: readonly CorpusReview[]) => rs.filter((r) => r.label === 1).length;
  log(
    `prepare: real reviews: ${train.length} train / ${heldOut.length} held out (by a hash of the text); the policy learns from ${lmReviews.length}, the classifier from ${clsReviews.length} (${positives(clsReviews)} positive) and is measured on ${clsHeldOut.length} held-out reviews`,
  );
  const summary = {
    corpus: files.map((f) => resolve(f)),
    reviews: all.length,
    empty_skipped: parsed.reduce((s, f) => s + f.emptySkipped, 0),
    train_reviews: train.length,
    held_out_reviews: heldOut.length,
    policy_reviews: lmReviews.length,
    classifier_reviews: clsReviews.length,
    classifier_held_out: clsHeldOut.length,
    classifier_held_out_positive: positives(clsHeldOut),
  };
  // Counts only: the reviews themselves stay in the corpus files.
  writeJsonFile(join(dataDir, "corpus.json"), summary);
  return {
    lmTexts: lmReviews.map((r) => r.text),
    vocabTexts: train.map((r) => r.text),
    classifierTrain: corpusClassifierExamples(clsReviews, options.seed),
    // Whole held-out reviews: the accuracy a reader expects from "held-out accuracy".
    classifierHeldOut: clsHeldOut.map((r) => ({ text: r.text, label: r.label })),
    prompts: (tokenizer, classify) => corpusPrompts(SEED_PROMPTS, orderedHeldOut(heldOut, options.seed), c.prompts, tokenizer, classify),
    promptsFrom: corpusPromptsFrom(files),
    vocabSize: c.vocabSize,
    summary,
  };
}

/**
 * The loop's reward base from the classifier (reward-model/reward-base.ts). Measured against a
 * sentiment-pretrained encoder (2 × 128, 17 more minutes to make) in the loop's first run on real
 * reviews, fine-tuned on the same labels: 0.742 vs 0.724 held-out accuracy (scratch 0.577;
 * docs/benchmarks.md), so the classifier, which prepare makes anyway, is the base.
 */
function makeRewardBase(paths: ReturnType<typeof preparedPaths>, log: (line: string) => void): void {
  rewardBaseFromClassifier(paths.classifierDir, paths.rewardBaseDir);
  log(`prepare: the loop's reward base (the classifier's encoder, its log-odds as the reward) in ${paths.rewardBaseDir}`);
}

/** Runs the steps whose outputs are missing or were made with other options; returns where they are. */
export async function prepare(input: z.input<typeof PrepareSchema> = {}, log: (line: string) => void = console.log): Promise<Prepared> {
  const options = PrepareSchema.parse(input);
  const paths = preparedPaths(options.home);
  const policyOptions = resolvePolicy(options);
  // The corpus files count by identity (path, size, content hash): another corpus, or an edited one, prepares again.
  const corpus = options.corpus ? corpusIdentity(options.corpus) : undefined;
  const recipe = corpus
    ? { seed: options.seed, corpus, corpusOptions: options.corpusOptions, policy: policyOptions, classifier: options.classifier }
    : { seed: options.seed, reviews: options.reviews, policy: policyOptions, classifier: options.classifier };
  const recipeJson = JSON.stringify(recipe);
  if (existsSync(paths.stamp) && existsSync(join(paths.policyDir, "config.json")) && existsSync(join(paths.classifierDir, "config.json"))) {
    const stamp = JSON.parse(readFileSync(paths.stamp, "utf8")) as { recipe: string };
    if (stamp.recipe === recipeJson) {
      // Prompts chosen by an older rule are made again from the cached classifier (seconds, not the models' minutes).
      if (options.corpus && promptsRule(options.home) !== PROMPT_RULE) await remakeCorpusPrompts(options.corpus, options, paths, log);
      // Models made before the reward base existed get it from the cached classifier (seconds; the policy stays).
      if (!isModelDir(paths.rewardBaseDir)) makeRewardBase(paths, log);
      return { ...paths, prompts: readPreparedPrompts(options.home), cached: true };
    }
    log(`prepare: the recipe changed since ${paths.stamp}; making the models again`);
  }
  const started = performance.now();
  rmSync(paths.stamp, { force: true });
  mkdirSync(paths.dataDir, { recursive: true });

  // 1. The corpus: generated reviews (and rank lists), or real ones with a held-out split.
  const data = options.corpus ? realCorpus(options.corpus, options, paths.dataDir, log) : generatedCorpus(options, paths.dataDir, log);

  // 2. One character vocabulary for both models, from the training texts.
  const vocab = buildCharVocab([...data.vocabTexts, ...SEED_PROMPTS], data.vocabSize);
  const tokenizer = new WordPieceTokenizer(vocab);

  // 3. The policy: a small GPT-2 pretrained on the corpus.
  const gptConfig = Gpt2ConfigSchema.parse({
    vocab_size: vocab.tokens.length,
    n_positions: policyOptions.train.maxLength,
    n_embd: policyOptions.n_embd,
    n_layer: policyOptions.n_layer,
    n_head: policyOptions.n_head,
    bos_token_id: tokenizer.cls,
    eos_token_id: tokenizer.sep,
    pad_token_id: tokenizer.pad,
  });
  const policy: Gpt2Weights = { config: gptConfig, tokenizer, weights: initStore(gpt2ParamSpecs(gptConfig), options.seed), hasValueHead: false };
  log(
    `prepare: pretraining GPT-2 (${gptConfig.n_layer} layers × ${gptConfig.n_embd}, vocab ${gptConfig.vocab_size}) on ${data.lmTexts.length} ${options.corpus ? "real" : "generated"} reviews, on ${policyOptions.train.engine === "onnx" ? "onnxruntime" : "tfjs"}`,
  );
  const lmStarted = performance.now();
  const lmLosses = await pretrainGpt2(policy, data.lmTexts, { ...policyOptions.train, quiet: options.quiet }, log);
  const lmSeconds = (performance.now() - lmStarted) / 1000;
  rmSync(paths.policyDir, { recursive: true, force: true });
  writeGpt2Dir(paths.policyDir, policy, { "metrics.json": { lm_loss_per_epoch: lmLosses, seconds: lmSeconds, reviews: data.lmTexts.length } });
  exportGpt2Onnx(paths.policyDir, policy);

  // 4. The sentiment classifier (the automatic reward), on full reviews and telling prefixes.
  const clsConfig = BertConfigSchema.parse({
    vocab_size: vocab.tokens.length,
    hidden_size: options.classifier.hidden_size,
    num_hidden_layers: options.classifier.layers,
    num_attention_heads: options.classifier.heads,
    intermediate_size: options.classifier.hidden_size * 4,
    max_position_embeddings: options.classifier.train.maxLength,
    num_labels: 2,
    classifier_pooling: "mean",
    // It learns from whole reviews, so PPO scores prompt + continuation as one text.
    reward_input: "concat",
  });
  const classifier: BertWeights = { config: clsConfig, tokenizer, weights: initStore(bertParamSpecs(clsConfig), options.seed + 3) };
  log(
    `prepare: training the sentiment classifier (${clsConfig.num_hidden_layers} layer × ${clsConfig.hidden_size}) on ${data.classifierTrain.length} examples`,
  );
  const clsStarted = performance.now();
  const accuracy = await trainClassifier(classifier, data.classifierTrain, data.classifierHeldOut, { ...options.classifier.train, quiet: options.quiet }, log);
  const clsSeconds = (performance.now() - clsStarted) / 1000;
  rmSync(paths.classifierDir, { recursive: true, force: true });
  writeBertDir(paths.classifierDir, classifier, {
    "metrics.json": { held_out_accuracy: accuracy, held_out_examples: data.classifierHeldOut.length, seconds: clsSeconds, ...data.summary },
  });
  exportBertOnnx(paths.classifierDir, classifier);

  rmSync(paths.rewardBaseDir, { recursive: true, force: true });
  makeRewardBase(paths, log);

  // 5. PPO's prompts, where `ppo demo` (and `npm start`) read them.
  const scorer = await classifierScorer(paths.classifierDir);
  const prompts = await data.prompts(tokenizer, scorer.classify).finally(() => scorer.close());
  writePrompts(paths.promptsFile, prompts, data.promptsFrom, options.corpus ? PROMPT_RULE : undefined, log);

  writeJsonFile(paths.stamp, {
    recipe: recipeJson,
    ...(corpus ? { corpus } : {}),
    seconds: (performance.now() - started) / 1000,
    lm_loss_per_epoch: lmLosses,
    lm_seconds: lmSeconds,
    classifier_accuracy: accuracy,
    classifier_seconds: clsSeconds,
  });
  log(
    `prepare: done in ${((performance.now() - started) / 1000).toFixed(0)} s (policy ${paths.policyDir}, classifier ${paths.classifierDir}, held-out accuracy ${accuracy.toFixed(4)} on ${data.classifierHeldOut.length} ${options.corpus ? "held-out reviews" : "held-out examples"})`,
  );
  return { ...paths, prompts, cached: false };
}
