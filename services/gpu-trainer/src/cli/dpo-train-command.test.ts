import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { generateRankLists, toRankTsv } from "../data/review-corpus.ts";
import { saveGpt2Dir } from "../io/gpt2-dir.ts";
import { gpt2ParamSpecs, Gpt2ConfigSchema } from "../models/gpt2.ts";
import { initParams } from "../models/params.ts";
import { buildCharVocab } from "../tokenizer/build-vocab.ts";
import { WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { readRankFile } from "../reward-model/rank-data.ts";
import { dpoTrainCommand } from "./dpo-commands.ts";

const dir = mkdtempSync(join(tmpdir(), "ranklab-dpo-train-"));
const REAL = "/work/shared/data/reviews";
/** Two epochs of a step large enough for a tiny policy to move in a test. */
const TRAIN_FLAGS = ["--epochs", "2", "--lr", "3e-3", "--beta", "0.5", "--max-length", "40"];

/** A tiny untrained GPT-2 whose vocabulary covers `texts`. */
function tinyPolicy(out: string, texts: string[], nPositions = 48) {
  const vocab = buildCharVocab(texts, 3000);
  const config = Gpt2ConfigSchema.parse({ vocab_size: vocab.tokens.length, n_positions: nPositions, n_embd: 16, n_layer: 1, n_head: 2 });
  saveGpt2Dir(out, { config, tokenizer: new WordPieceTokenizer(vocab), params: initParams(gpt2ParamSpecs(config), 1), hasValueHead: false });
}

beforeAll(async () => {
  await selectBackend("wasm");
  const train = generateRankLists(40, 1);
  const dev = generateRankLists(10, 2, new Set(train.flatMap((l) => l.texts)));
  writeFileSync(join(dir, "train.tsv"), toRankTsv(train));
  writeFileSync(join(dir, "dev.tsv"), toRankTsv(dev));
  writeFileSync(join(dir, "pairs.jsonl"), `${JSON.stringify({ prompt: "这家店", chosen: "很好，推荐！", rejected: "很差。" })}\n`);
  tinyPolicy(
    join(dir, "policy"),
    [...train, ...dev].flatMap((l) => l.texts),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("dpo train", () => {
  it("names what is missing", async () => {
    await expect(dpoTrainCommand(["--data", join(dir, "train.tsv")])).rejects.toThrow(/--policy DIR is required/);
    await expect(dpoTrainCommand(["--policy", join(dir, "policy")])).rejects.toThrow(/--data FILE is required/);
    await expect(dpoTrainCommand(["--policy", join(dir, "policy"), "--data", join(dir, "train.tsv"), "--beta", "0"])).rejects.toThrow(/beta/);
  });

  it("trains a policy folder on prompt-less rank lists and a pairs JSONL, and its implicit reward orders held-out pairs", async () => {
    const out = join(dir, "out");
    await dpoTrainCommand([
      "--policy",
      join(dir, "policy"),
      "--data",
      join(dir, "train.tsv"),
      join(dir, "pairs.jsonl"),
      "--eval",
      join(dir, "dev.tsv"),
      "--out",
      out,
      "--logs-dir",
      join(dir, "logs"),
      ...TRAIN_FLAGS,
    ]);
    expect(existsSync(join(out, "model.onnx"))).toBe(true);
    const metrics = JSON.parse(readFileSync(join(out, "metrics.json"), "utf8")) as Record<string, number>;
    // 40 lists of 4 strictly ordered texts: 6 pairs each, and the JSONL's one.
    expect(metrics.pairs).toBe(241);
    for (const key of ["loss", "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected"])
      expect(Number.isFinite(metrics[key]), key).toBe(true);
    // Before training the reference is the policy: every margin is 0 (no pair counts as ordered).
    expect(metrics["eval_before/rewards/accuracies"]).toBe(0);
    expect(metrics["eval/rewards/accuracies"]).toBeGreaterThan(0.6);
    expect(metrics["eval/rewards/margins"]).toBeGreaterThan(0);
    const epochs = readFileSync(join(dir, "logs", "DPO.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, number>);
    expect(epochs).toHaveLength(2);
    expect(epochs[1]!.loss!).toBeLessThan(epochs[0]!.loss!);
  }, 120_000);

  it("--stop-at-kl ends the run at the first check whose sampled KL to the reference passes it", async () => {
    const run = async (name: string, stopAtKl: string) => {
      const out = join(dir, name);
      await dpoTrainCommand([
        "--policy",
        join(dir, "policy"),
        "--data",
        join(dir, "train.tsv"),
        "--out",
        out,
        "--logs-dir",
        join(dir, "logs"),
        ...TRAIN_FLAGS,
        "--stop-at-kl",
        stopAtKl,
      ]);
      return JSON.parse(readFileSync(join(out, "metrics.json"), "utf8")) as Record<string, number>;
    };
    // 240 pairs of 8: 30 steps an epoch; the check runs every 16 (klCheckEvery's default).
    const stopped = await run("kl-stopped", "1e-6");
    expect(stopped.steps).toBe(16);
    expect(stopped["objective/kl"]).toBeGreaterThan(1e-6);
    const full = await run("kl-unbounded", "1e6");
    expect(full.steps).toBe(60);
    // Measured at steps 16, 32 and 48: the last one is reported, and a policy that trained longer is further away.
    expect(full["objective/kl"]).toBeGreaterThan(stopped["objective/kl"]!);
    await expect(dpoTrainCommand(["--policy", join(dir, "policy"), "--data", join(dir, "train.tsv"), "--stop-at-kl", "-1"])).rejects.toThrow(
      /stopAtKl|stop-at-kl/,
    );
  }, 120_000);

  it.skipIf(!existsSync(join(REAL, "rank_train.tsv")))(
    "trains on the real reviews' rank lists (a slice)",
    async () => {
      const train = readRankFile(join(REAL, "rank_train.tsv")).slice(0, 8);
      const dev = readRankFile(join(REAL, "rank_dev.tsv")).slice(0, 4);
      writeFileSync(join(dir, "real-train.tsv"), toRankTsv(train));
      writeFileSync(join(dir, "real-dev.tsv"), toRankTsv(dev));
      tinyPolicy(
        join(dir, "real-policy"),
        [...train, ...dev].flatMap((l) => l.texts),
        64,
      );
      const out = join(dir, "real-out");
      await dpoTrainCommand([
        "--policy",
        join(dir, "real-policy"),
        "--data",
        join(dir, "real-train.tsv"),
        "--eval",
        join(dir, "real-dev.tsv"),
        "--out",
        out,
        "--logs-dir",
        join(dir, "logs"),
        "--max-pairs",
        "32",
        "--max-length",
        "64",
      ]);
      const metrics = JSON.parse(readFileSync(join(out, "metrics.json"), "utf8")) as Record<string, number>;
      expect(metrics.pairs).toBeLessThanOrEqual(32);
      expect(Number.isFinite(metrics["eval/loss"])).toBe(true);
    },
    120_000,
  );
});
