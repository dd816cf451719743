import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { generateRankLists, generateReviews, toRankTsv, type Review } from "../data/review-corpus.ts";
import { saveBertDir, type BertModel } from "../io/bert-dir.ts";
import { saveGpt2Dir, type Gpt2Model } from "../io/gpt2-dir.ts";
import { writeJsonFile } from "../io/json-file.ts";
import { LmTrainSchema, pretrainGpt2 } from "../lm/pretrain-gpt2.ts";
import { BertConfigSchema, bertParamSpecs } from "../models/bert.ts";
import { gpt2ParamSpecs, Gpt2ConfigSchema } from "../models/gpt2.ts";
import { disposeParams, initParams } from "../models/params.ts";
import { exportBertOnnx } from "../onnx/export-bert.ts";
import { exportGpt2Onnx } from "../onnx/export-gpt2.ts";
import { ClassifierTrainSchema, trainClassifier, type LabelledText } from "../sentiment/train-classifier.ts";
import { buildCharVocab } from "../tokenizer/build-vocab.ts";
import { WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { seededRandom } from "../util/random.ts";

/** The seed's prompts: the demo continues them, so the corpus opens reviews with them. */
export const SEED_PROMPTS = ["刚收到货，感觉有", "这部电影很", "说实话，真的很", "这次购物总的来说体验很"];

/**
 * What `prepare` makes, sized so it takes minutes on 2 CPU cores: a corpus of
 * generated reviews, a character vocabulary, a small GPT-2 that continues the seed's
 * prompts both ways, and a sentiment classifier on the corpus's labels.
 */
export const PrepareSchema = z
  .object({
    home: z.string().default(".ranklab"),
    seed: z.number().int().default(1),
    // 12,000 distinct reviews: enough variety that the policy does not just memorise.
    reviews: z.number().int().min(100).default(12000),
    policy: z
      .object({
        n_embd: z.number().int().default(128),
        n_layer: z.number().int().default(2),
        n_head: z.number().int().default(4),
        train: LmTrainSchema.default({ epochs: 2, batchSize: 32, learningRate: 1e-3, warmupSteps: 50, maxLength: 64, seed: 0, quiet: false, engine: "onnx" }),
      })
      .strict()
      .default({ n_embd: 128, n_layer: 2, n_head: 4, train: { epochs: 2, batchSize: 32, learningRate: 1e-3, warmupSteps: 50, maxLength: 64, seed: 0, quiet: false, engine: "onnx" } }),
    classifier: z
      .object({
        hidden_size: z.number().int().default(64),
        layers: z.number().int().default(1),
        heads: z.number().int().default(2),
        train: ClassifierTrainSchema.default({ epochs: 2, batchSize: 32, learningRate: 1e-3, maxLength: 64, dropout: 0.1, seed: 0, quiet: false }),
      })
      .strict()
      .default({ hidden_size: 64, layers: 1, heads: 2, train: { epochs: 2, batchSize: 32, learningRate: 1e-3, maxLength: 64, dropout: 0.1, seed: 0, quiet: false } }),
    quiet: z.boolean().default(false),
  })
  .strict();
export type PrepareOptions = z.infer<typeof PrepareSchema>;

export interface Prepared {
  policyDir: string;
  classifierDir: string;
  dataDir: string;
  cached: boolean;
}

export const preparedPaths = (home: string) => ({
  dataDir: join(home, "data"),
  policyDir: join(home, "models", "policy-gpt2"),
  classifierDir: join(home, "models", "sentiment-classifier"),
  stamp: join(home, "models", "prepare.json"),
});

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

/** Runs the steps whose outputs are missing or were made with other options; returns where they are. */
export async function prepare(input: z.input<typeof PrepareSchema> = {}, log: (line: string) => void = console.log): Promise<Prepared> {
  const options = PrepareSchema.parse(input);
  const paths = preparedPaths(options.home);
  const { home: _home, quiet: _quiet, ...recipe } = options;
  const recipeJson = JSON.stringify(recipe);
  if (existsSync(paths.stamp) && existsSync(join(paths.policyDir, "config.json")) && existsSync(join(paths.classifierDir, "config.json"))) {
    const stamp = JSON.parse(readFileSync(paths.stamp, "utf8")) as { recipe: string };
    if (stamp.recipe === recipeJson) return { ...paths, cached: true };
    log(`prepare: the recipe changed since ${paths.stamp}; making the models again`);
  }
  const started = performance.now();
  rmSync(paths.stamp, { force: true });
  mkdirSync(paths.dataDir, { recursive: true });

  // 1. The corpus, and rank lists from the same generator (for reward-model training).
  const reviews = generateReviews(options.reviews, options.seed);
  writeFileSync(join(paths.dataDir, "reviews.jsonl"), reviews.map((r) => JSON.stringify(r)).join("\n") + "\n");
  const trainLists = generateRankLists(2000, options.seed + 1);
  writeFileSync(join(paths.dataDir, "rank_train.tsv"), toRankTsv(trainLists));
  writeFileSync(join(paths.dataDir, "rank_dev.tsv"), toRankTsv(generateRankLists(300, options.seed + 2, new Set(trainLists.flatMap((l) => l.texts)))));
  log(`prepare: ${reviews.length} generated reviews and 2,300 rank lists in ${paths.dataDir}`);

  // 2. One character vocabulary for both models.
  const vocab = buildCharVocab([...reviews.map((r) => r.text), ...SEED_PROMPTS], 8000);
  const tokenizer = new WordPieceTokenizer(vocab);

  // 3. The policy: a small GPT-2 pretrained on the corpus.
  const gptConfig = Gpt2ConfigSchema.parse({
    vocab_size: vocab.tokens.length,
    n_positions: options.policy.train.maxLength,
    n_embd: options.policy.n_embd,
    n_layer: options.policy.n_layer,
    n_head: options.policy.n_head,
    bos_token_id: tokenizer.cls,
    eos_token_id: tokenizer.sep,
    pad_token_id: tokenizer.pad,
  });
  const policy: Gpt2Model = { config: gptConfig, tokenizer, params: initParams(gpt2ParamSpecs(gptConfig), options.seed), hasValueHead: false };
  log(`prepare: pretraining GPT-2 (${gptConfig.n_layer} layers × ${gptConfig.n_embd}, vocab ${gptConfig.vocab_size}) on the corpus, on ${options.policy.train.engine === "onnx" ? "onnxruntime" : "tfjs"}`);
  const lmLosses = await pretrainGpt2(policy, reviews.map((r) => r.text), { ...options.policy.train, quiet: options.quiet }, log);
  rmSync(paths.policyDir, { recursive: true, force: true });
  saveGpt2Dir(paths.policyDir, policy, { "metrics.json": { lm_loss_per_epoch: lmLosses } });
  exportGpt2Onnx(paths.policyDir, policy);
  disposeParams(policy.params);

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
  const classifier: BertModel = { config: clsConfig, tokenizer, params: initParams(bertParamSpecs(clsConfig), options.seed + 3) };
  const heldOutReviews = generateReviews(options.reviews + 600, options.seed).slice(options.reviews);
  log(`prepare: training the sentiment classifier (${clsConfig.num_hidden_layers} layer × ${clsConfig.hidden_size})`);
  const accuracy = await trainClassifier(classifier, classifierExamples(reviews, options.seed), classifierExamples(heldOutReviews, options.seed + 9), { ...options.classifier.train, quiet: options.quiet }, log);
  rmSync(paths.classifierDir, { recursive: true, force: true });
  saveBertDir(paths.classifierDir, classifier, { "metrics.json": { held_out_accuracy: accuracy } });
  exportBertOnnx(paths.classifierDir, classifier);
  disposeParams(classifier.params);

  writeJsonFile(paths.stamp, { recipe: recipeJson, seconds: (performance.now() - started) / 1000, lm_loss_per_epoch: lmLosses, classifier_accuracy: accuracy });
  log(`prepare: done in ${((performance.now() - started) / 1000).toFixed(0)} s (policy ${paths.policyDir}, classifier ${paths.classifierDir}, accuracy ${accuracy.toFixed(4)})`);
  return { ...paths, cached: false };
}
