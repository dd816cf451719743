import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { generateRankLists, generateReviews, toRankTsv } from "../data/review-corpus.ts";
import { UserError } from "../errors.ts";
import { rewardPretrain, rewardTrain } from "./reward-commands.ts";

const dir = mkdtempSync(join(tmpdir(), "ranklab-reward-pretrain-"));
const tiny = JSON.stringify({
  heldOut: 40,
  batchSize: 16,
  model: { hiddenSize: 16, layers: 1, heads: 2, intermediateSize: 32, maxVocab: 3000, pooling: "mean", bigramBuckets: 64 },
});
const csv = join(dir, "corpus.csv");
const devTsv = join(dir, "dev.tsv");
const trainTsv = join(dir, "train.tsv");

beforeAll(async () => {
  await selectBackend("wasm");
  const reviews = generateReviews(240, 3);
  writeFileSync(csv, `cat,label,review\n${reviews.map((r) => `${r.domain},${r.label === "positive" ? 1 : 0},"${r.text.replaceAll('"', '""')}"`).join("\n")}\n`);
  const train = generateRankLists(16, 1);
  writeFileSync(trainTsv, toRankTsv(train));
  // The dev lists reuse 8 of the corpus's texts, which --exclude must keep out of the pretraining.
  writeFileSync(
    devTsv,
    toRankTsv([
      { texts: reviews.slice(0, 4).map((r) => r.text) },
      { texts: reviews.slice(4, 8).map((r) => r.text) },
      ...generateRankLists(6, 2, new Set(train.flatMap((l) => l.texts))),
    ]),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("reward pretrain", () => {
  it("refuses a run without --corpus or --out, and a missing file", async () => {
    await expect(rewardPretrain(["--out", join(dir, "x")])).rejects.toThrow(/--corpus FILE\.csv \(one or more\) is required/);
    await expect(rewardPretrain(["--corpus", csv])).rejects.toThrow(/--out DIR is required/);
    await expect(rewardPretrain(["--corpus", join(dir, "nope.csv"), "--out", join(dir, "x")])).rejects.toThrow(UserError);
  });

  it("writes an encoder folder that reward train --base-model fine-tunes on onnxruntime", async () => {
    const encoder = join(dir, "encoder");
    await rewardPretrain([
      "--corpus",
      csv,
      "--exclude",
      devTsv,
      "--vocab-from",
      trainTsv,
      "--out",
      encoder,
      "--config",
      tiny,
      "--epochs",
      "2",
      "--lr",
      "3e-3",
      "--max-length",
      "48",
      "--quiet",
    ]);
    const metrics = JSON.parse(readFileSync(join(encoder, "metrics.json"), "utf8")) as { train_texts: number; held_out_texts: number };
    // 240 reviews, 8 left out as dev texts, 40 held out.
    expect(metrics.held_out_texts).toBe(40);
    expect(metrics.train_texts).toBe(240 - 8 - 40);
    const pretrain = JSON.parse(readFileSync(join(encoder, "pretrain.json"), "utf8")) as { epochs: number; maxLength: number };
    expect(pretrain).toMatchObject({ epochs: 2, maxLength: 48 });
    // Every character of the rank lists it will be fine-tuned on is in its vocabulary (--vocab-from).
    const vocab = new Set(readFileSync(join(encoder, "vocab.txt"), "utf8").split("\n"));
    const missing = [...new Set([...readFileSync(trainTsv, "utf8")].filter((c) => c.trim() !== ""))].filter((c) => !vocab.has(c.toLowerCase()));
    expect(missing).toEqual([]);

    const out = join(dir, "rm");
    await rewardTrain([
      "--train",
      trainTsv,
      "--dev",
      devTsv,
      "--logs-dir",
      join(dir, "logs"),
      "--out",
      out,
      "--base-model",
      encoder,
      "--engine",
      "onnx",
      "--max-length",
      "48",
      "--epochs",
      "1",
      "--eval-every",
      "2",
      "--quiet",
    ]);
    expect(existsSync(join(out, "best", "model.safetensors"))).toBe(true);
    const config = JSON.parse(readFileSync(join(out, "best", "config.json"), "utf8")) as { hidden_size: number; bigram_buckets: number };
    expect(config.hidden_size).toBe(16);
    expect(config.bigram_buckets).toBe(64);
  }, 120_000);
});
