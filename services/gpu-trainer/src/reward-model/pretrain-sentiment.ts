import { rmSync } from "node:fs";
import { z } from "zod";
import { UserError } from "../errors.ts";
import { AdamW } from "../engine/adamw.ts";
import { OnnxBertEngine } from "../engine/bert-engine.ts";
import { writeBertDir, type BertWeights } from "../io/bert-dir.ts";
import type { LabelledText } from "../sentiment/train-classifier.ts";
import { createProgress } from "../util/progress.ts";
import { seededRandom, shuffled } from "../util/random.ts";
import { readCorpusFiles } from "../data/corpus-csv.ts";
import { readRankFile } from "./rank-data.ts";
import { encodeRewardItems, rewardInputOf } from "./reward-input.ts";
import { newRewardModel } from "./train.ts";
import { RewardModelShapeSchema } from "./train-config.ts";

/**
 * Sentiment-task pretraining of a reward encoder: a reward model from scratch (one
 * output, the shape `reward train` builds) learns the labelled corpus's sentiment with
 * the logistic loss, so its one output is the log-odds that a review is positive. The
 * folder it writes is a plain reward-model checkpoint (config.json, model.safetensors,
 * vocab.txt): `reward train --base-model DIR` fine-tunes it with the rank loss exactly as
 * it fine-tunes an ERNIE folder, and its head already ranks positive above negative.
 *
 * Trains on the onnxruntime engine (no dropout): ~6× tfjs wasm's speed on 2 cores.
 */
export const SentimentPretrainSchema = z
  .object({
    // One pass over a few tens of thousands of labelled reviews is what fits minutes on 2 cores.
    epochs: z.number().int().min(1).max(100).default(1),
    batchSize: z.number().int().min(1).default(32),
    // Adam from scratch, as `reward train` from scratch; decays linearly to 10% over the run.
    learningRate: z.number().positive().max(1).default(1e-3),
    // The reward model's own length, so every position it will see is trained.
    maxLength: z.number().int().min(8).max(512).default(128),
    // Most texts to train on (a seeded sample of the corpus); none: all of them.
    maxTexts: z.number().int().positive().optional(),
    // Reviews kept aside (a seeded sample) for the accuracy the folder's metrics.json reports.
    heldOut: z.number().int().min(0).default(1000),
    seed: z.number().int().default(42),
    model: RewardModelShapeSchema,
    quiet: z.boolean().default(false),
  })
  .strict()
  .refine((c) => c.model.hiddenSize % c.model.heads === 0, { message: "model.hiddenSize must be a multiple of model.heads", path: ["model", "heads"] });
export type SentimentPretrainConfig = z.infer<typeof SentimentPretrainSchema>;

export interface SentimentPretrainResult {
  /** Held-out accuracy (output > 0 read as positive); NaN without held-out reviews. */
  accuracy: number;
  trainTexts: number;
  heldOutTexts: number;
  /** Mean logistic loss of the last epoch. */
  loss: number;
  seconds: number;
}

/**
 * The labelled reviews to pretrain on: one per distinct text (a text met with both labels
 * is dropped), none of `exclude` (exact text: e.g. every text of an evaluation set, so its
 * figures stay honest), shuffled under `seed`.
 */
export function sentimentTexts(
  reviews: readonly LabelledText[],
  exclude: ReadonlySet<string>,
  seed: number,
): { texts: LabelledText[]; excluded: number; conflicting: number } {
  const labels = new Map<string, 0 | 1 | -1>();
  let excluded = 0;
  for (const r of reviews) {
    if (exclude.has(r.text)) {
      excluded++;
      continue;
    }
    const seen = labels.get(r.text);
    labels.set(r.text, seen === undefined || seen === r.label ? r.label : -1);
  }
  const texts: LabelledText[] = [];
  let conflicting = 0;
  for (const [text, label] of labels) {
    if (label === -1) conflicting++;
    else texts.push({ text, label });
  }
  return { texts: shuffled(texts, seededRandom(seed)), excluded, conflicting };
}

/** Logistic loss of logits `z` against labels `y` (mean over the batch) and its gradient σ(z) − y, over the batch size. */
export function logisticLossGrad(z: Float32Array, y: readonly number[]): { loss: number; dLogits: Float32Array } {
  const d = new Float32Array(z.length);
  let total = 0;
  for (let i = 0; i < z.length; i++) {
    const v = z[i]!;
    // softplus(v) − y·v, stably.
    total += (v > 0 ? v + Math.log1p(Math.exp(-v)) : Math.log1p(Math.exp(v))) - y[i]! * v;
    d[i] = (1 / (1 + Math.exp(-v)) - y[i]!) / z.length;
  }
  return { loss: total / z.length, dLogits: d };
}

async function logits(engine: OnnxBertEngine, model: BertWeights, texts: readonly string[], maxLength: number): Promise<Float32Array> {
  const out = new Float32Array(texts.length);
  for (let start = 0; start < texts.length; start += 64) {
    const batch = texts.slice(start, start + 64);
    const enc = encodeRewardItems(
      model.tokenizer,
      rewardInputOf(model.config),
      batch.map((completion) => ({ completion })),
      maxLength,
    );
    out.set((await engine.forward(enc)).outputs, start);
  }
  return out;
}

/**
 * Builds a reward model from scratch (vocabulary from the characters of the labelled
 * texts and `vocabTexts`, e.g. the rank lists it will be fine-tuned on), trains it on
 * `reviews`' sentiment and writes it to `out` with metrics.json (held-out accuracy,
 * sizes, seconds) and pretrain.json (the config).
 */
export async function pretrainSentiment(
  config: SentimentPretrainConfig,
  reviews: readonly LabelledText[],
  vocabTexts: readonly string[],
  out: string,
  log: (line: string) => void = console.log,
): Promise<SentimentPretrainResult> {
  const started = performance.now();
  const heldOut = reviews.slice(0, Math.min(config.heldOut, Math.floor(reviews.length / 2)));
  let train = reviews.slice(heldOut.length);
  if (config.maxTexts !== undefined) train = train.slice(0, config.maxTexts);
  if (train.length === 0) throw new UserError("sentiment pretraining: no labelled reviews to train on");
  const model = newRewardModel(config.model, {
    maxLength: config.maxLength,
    seed: config.seed,
    rewardInput: "concat",
    texts: [...train.map((r) => r.text), ...vocabTexts],
  });
  // The engine trains the fresh store in place; the folder is written from it.
  const engine = await OnnxBertEngine.fromStore(model);
  const adam = new AdamW(engine.weights, { learningRate: config.learningRate });
  const steps = Math.ceil(train.length / config.batchSize) * config.epochs;
  const progress = createProgress(steps, "sentiment", config.quiet, log);
  log(
    `sentiment pretraining: ${train.length} labelled reviews (${heldOut.length} held out), ${steps} steps of ${config.batchSize}, vocab ${model.tokenizer.size}, ` +
      `hidden ${model.config.hidden_size} × ${model.config.num_hidden_layers} layers, on onnxruntime`,
  );
  const random = seededRandom(config.seed + 1);
  let step = 0;
  let loss = Number.NaN;
  let accuracy = Number.NaN;
  try {
    for (let epoch = 0; epoch < config.epochs; epoch++) {
      const order = shuffled(train, random);
      let total = 0;
      let batches = 0;
      for (let start = 0; start < order.length; start += config.batchSize) {
        const batch = order.slice(start, start + config.batchSize);
        // Linear decay from the learning rate to a tenth of it: a one-pass run settles instead of ending mid-stride.
        adam.learningRate = config.learningRate * (1 - (0.9 * step) / steps);
        const enc = encodeRewardItems(
          model.tokenizer,
          "concat",
          batch.map((b) => ({ completion: b.text })),
          config.maxLength,
        );
        const forward = await engine.forward(enc);
        const { loss: value, dLogits } = logisticLossGrad(
          forward.outputs,
          batch.map((b) => b.label),
        );
        adam.step(await engine.backward(forward, dLogits));
        total += value;
        batches++;
        progress.update(++step);
      }
      loss = total / batches;
      if (heldOut.length > 0) {
        const z = await logits(
          engine,
          model,
          heldOut.map((h) => h.text),
          config.maxLength,
        );
        accuracy = heldOut.filter((h, i) => (z[i]! > 0 ? 1 : 0) === h.label).length / heldOut.length;
      }
      progress.log(`sentiment epoch ${epoch + 1}/${config.epochs}: loss ${loss.toFixed(4)}, held-out accuracy ${accuracy.toFixed(4)}`);
    }
    progress.stop();
    const seconds = (performance.now() - started) / 1000;
    rmSync(out, { recursive: true, force: true });
    writeBertDir(out, model, {
      "metrics.json": { sentiment_accuracy: accuracy, sentiment_loss: loss, train_texts: train.length, held_out_texts: heldOut.length, seconds },
      "pretrain.json": config,
    });
    return { accuracy, trainTexts: train.length, heldOutTexts: heldOut.length, loss, seconds };
  } finally {
    await engine.close();
  }
}

export interface SentimentPretrainFiles {
  /** Labelled corpus CSVs (`label,review` or `cat,label,review`). */
  corpus: readonly string[];
  /** Rank-list TSV / pairwise JSONL files whose texts are left out of the corpus (exact text): the evaluation set. */
  exclude?: readonly string[];
  /** Rank-list files whose texts join the vocabulary: the data the model will be fine-tuned on. */
  vocabFrom?: readonly string[];
}

/** `reward pretrain` and `bench:reward`: reads the files, leaves out the excluded texts, pretrains, writes `out`. */
export async function pretrainSentimentFromFiles(
  config: SentimentPretrainConfig,
  files: SentimentPretrainFiles,
  out: string,
  log: (line: string) => void = console.log,
): Promise<SentimentPretrainResult & { excluded: number }> {
  const reviews = readCorpusFiles(files.corpus).flatMap((f) => f.reviews.map((r) => ({ text: r.text, label: r.label })));
  const exclude = new Set((files.exclude ?? []).flatMap((f) => readRankFile(f).flatMap((l) => l.texts)));
  const { texts, excluded, conflicting } = sentimentTexts(reviews, exclude, config.seed);
  log(
    `sentiment corpus: ${reviews.length} reviews from ${files.corpus.length} file(s); ${excluded} left out as texts of ${files.exclude?.join(", ") || "nothing"}; ${conflicting} texts with both labels dropped; ${texts.length} distinct texts`,
  );
  const vocabTexts = (files.vocabFrom ?? []).flatMap((f) => readRankFile(f).flatMap((l) => l.texts));
  return { ...(await pretrainSentiment(config, texts, vocabTexts, out, log)), excluded };
}
