import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { generateRankLists, generateReviews, toRankTsv } from "../data/review-corpus.ts";
import { loadBertDir } from "../io/bert-dir.ts";
import { disposeParams } from "../models/params.ts";
import type { LabelledText } from "../sentiment/train-classifier.ts";
import { logisticLossGrad, pretrainSentiment, pretrainSentimentFromFiles, SentimentPretrainSchema, sentimentTexts } from "./pretrain-sentiment.ts";
import { scoreItems } from "./score-tfjs.ts";
import { evaluate, trainRewardModelOn } from "./train.ts";
import { RewardTrainConfigSchema } from "./train-config.ts";

const TINY = { hiddenSize: 32, layers: 1, heads: 2, intermediateSize: 64, maxVocab: 800, pooling: "mean" as const, bigramBuckets: 0 };
const dir = mkdtempSync(join(tmpdir(), "ranklab-sentiment-pretrain-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("sentimentTexts", () => {
  it("keeps one of each text, drops texts met with both labels and the excluded texts, and counts both", () => {
    const reviews: LabelledText[] = [
      { text: "好", label: 1 },
      { text: "好", label: 1 },
      { text: "差", label: 0 },
      { text: "一般", label: 1 },
      { text: "一般", label: 0 },
      { text: "评测集里的", label: 1 },
      { text: "评测集里的", label: 1 },
    ];
    const { texts, excluded, conflicting } = sentimentTexts(reviews, new Set(["评测集里的"]), 1);
    expect(excluded).toBe(2);
    expect(conflicting).toBe(1);
    expect([...texts].sort((a, b) => a.text.localeCompare(b.text))).toEqual(
      [
        { text: "好", label: 1 },
        { text: "差", label: 0 },
      ].sort((a, b) => a.text.localeCompare(b.text)),
    );
    // The order is a seeded shuffle: the same seed, the same order.
    expect(sentimentTexts(reviews, new Set(), 7).texts).toEqual(sentimentTexts(reviews, new Set(), 7).texts);
  });
});

describe("logisticLossGrad", () => {
  it("is the mean of softplus(z) − y·z, and its gradient matches finite differences", () => {
    const z = Float32Array.of(2.5, -1, 0.3, -40, 40);
    const y = [1, 1, 0, 0, 1];
    const loss = (v: Float32Array) => logisticLossGrad(v, y).loss;
    const expected = [...z].reduce((a, v, i) => a + Math.log1p(Math.exp(v)) - y[i]! * v, 0) / z.length;
    // The saturated logits (±40) still give finite losses: softplus is computed stably.
    expect(Number.isFinite(loss(z))).toBe(true);
    expect(loss(z.slice(0, 3))).toBeCloseTo([...z.slice(0, 3)].reduce((a, v, i) => a + Math.log1p(Math.exp(v)) - y[i]! * v, 0) / 3, 6);
    expect(loss(z)).toBeCloseTo(expected, 5);
    const { dLogits } = logisticLossGrad(z, y);
    for (let i = 0; i < 3; i++) {
      const up = Float64Array.from(z);
      const down = Float64Array.from(z);
      up[i]! += 1e-3;
      down[i]! -= 1e-3;
      const numeric = (loss(Float32Array.from(up)) - loss(Float32Array.from(down))) / 2e-3;
      expect(dLogits[i]!).toBeCloseTo(numeric, 3);
    }
  });
});

describe("sentiment pretraining of a reward encoder (generated reviews)", () => {
  const encoder = join(dir, "encoder");
  const reviews: LabelledText[] = generateReviews(900, 5).map((r) => ({ text: r.text, label: r.label === "positive" ? 1 : 0 }));
  const train = generateRankLists(160, 1);
  const dev = generateRankLists(40, 2, new Set(train.flatMap((l) => l.texts)));
  let accuracy = 0;

  beforeAll(async () => {
    await selectBackend("wasm");
    const config = SentimentPretrainSchema.parse({ epochs: 3, batchSize: 32, learningRate: 3e-3, maxLength: 64, heldOut: 150, model: TINY, quiet: true });
    ({ accuracy } = await pretrainSentiment(
      config,
      reviews,
      train.flatMap((l) => l.texts),
      encoder,
      () => {},
    ));
  }, 120_000);

  it("learns the labels (held-out accuracy ≥ 0.85) and writes a reward-model folder with its metrics", () => {
    expect(accuracy).toBeGreaterThanOrEqual(0.85);
    for (const f of ["config.json", "model.safetensors", "vocab.txt", "metrics.json", "pretrain.json"]) expect(existsSync(join(encoder, f)), f).toBe(true);
    const metrics = JSON.parse(readFileSync(join(encoder, "metrics.json"), "utf8"));
    expect(metrics.sentiment_accuracy).toBe(accuracy);
    expect(metrics.held_out_texts).toBe(150);
    expect(metrics.train_texts).toBe(reviews.length - 150);
  });

  it("is a base model reward train fine-tunes as it would an ERNIE folder, and its head already ranks", async () => {
    // As it is, the encoder's one output is the log-odds of positive: it orders rank lists (positive first) well above chance.
    const base = loadBertDir(encoder, { num_labels: 1 });
    expect(base.config.num_labels).toBe(1);
    const before = (await evaluate(async (items) => scoreItems(base, items, { maxLength: 64, batchSize: 64 }), dev)).accuracy;
    disposeParams(base.params);
    expect(before).toBeGreaterThan(0.7);
    const config = RewardTrainConfigSchema.parse({
      out: join(dir, "rm"),
      logsDir: join(dir, "rm-logs"),
      baseModel: encoder,
      maxLength: 64,
      listsPerStep: 8,
      epochs: 2,
      learningRate: 1e-3,
      dropout: 0,
      evalEvery: 20,
      quiet: true,
    });
    const result = await trainRewardModelOn(config, train, dev, () => {});
    expect(result.bestAccuracy).toBeGreaterThanOrEqual(Math.max(before, 0.9));
    // The fine-tuned model keeps the encoder's vocabulary and shape (it was not rebuilt from scratch).
    const tuned = loadBertDir(result.bestDir);
    expect(tuned.tokenizer.size).toBe(readFileSync(join(encoder, "vocab.txt"), "utf8").trim().split("\n").length);
    expect(tuned.config.hidden_size).toBe(TINY.hiddenSize);
    disposeParams(tuned.params);
  }, 120_000);

  it("reads CSV corpora and leaves out every text of the --exclude rank files", async () => {
    const csv = join(dir, "corpus.csv");
    const rows = reviews.slice(0, 200);
    writeFileSync(csv, `label,review\n${rows.map((r) => `${r.label},"${r.text.replaceAll('"', '""')}"`).join("\n")}\n`);
    // An evaluation set made of 30 of the corpus's texts (and one that is not in it).
    const excludeFile = join(dir, "dev.tsv");
    const held = rows.slice(0, 30).map((r) => r.text);
    writeFileSync(excludeFile, toRankTsv([{ texts: held.slice(0, 15) }, { texts: [...held.slice(15), "语料里没有的句子"] }]));
    const config = SentimentPretrainSchema.parse({ epochs: 1, maxLength: 64, heldOut: 20, model: TINY, quiet: true });
    const r = await pretrainSentimentFromFiles(config, { corpus: [csv], exclude: [excludeFile] }, join(dir, "from-files"), () => {});
    expect(r.excluded).toBe(30);
    expect(r.trainTexts + r.heldOutTexts).toBe(170);
  }, 60_000);
});

/** The real corpora (optional): pretraining without rank_dev's texts learns their sentiment. Skips when ../shared/data is absent. */
const DATA = join(import.meta.dirname, "../../../../../shared/data");
const real = existsSync(join(DATA, "corpora/online_shopping_10_cats.csv")) && existsSync(join(DATA, "reviews/rank_dev.tsv"));
describe.skipIf(!real)("sentiment pretraining on the real corpora (../shared/data)", () => {
  it("leaves out rank_dev's texts and learns held-out sentiment from 3,000 reviews", async () => {
    await selectBackend("wasm");
    const config = SentimentPretrainSchema.parse({ epochs: 1, maxLength: 64, maxTexts: 3000, heldOut: 500, learningRate: 2e-3, model: TINY, quiet: true });
    const r = await pretrainSentimentFromFiles(
      config,
      { corpus: [join(DATA, "corpora/online_shopping_10_cats.csv")], exclude: [join(DATA, "reviews/rank_dev.tsv")] },
      join(dir, "real"),
      () => {},
    );
    // 1,109 of rank_dev's 1,200 texts are in online_shopping_10_cats (the rest were withheld from the corpus).
    expect(r.excluded).toBeGreaterThanOrEqual(1000);
    expect(r.trainTexts).toBe(3000);
    expect(r.accuracy).toBeGreaterThan(0.75);
  }, 180_000);
});
