import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { generateRankLists, toRankTsv } from "../data/review-corpus.ts";
import { UserError } from "../errors.ts";
import { rewardTrain } from "./reward-commands.ts";

const dir = mkdtempSync(join(tmpdir(), "ranklab-reward-train-engine-"));
const tiny = JSON.stringify({
  maxLength: 32,
  listsPerStep: 8,
  epochs: 1,
  evalEvery: 4,
  quiet: true,
  model: { hiddenSize: 16, layers: 1, heads: 2, intermediateSize: 32, maxVocab: 400 },
});
const base = () => ["--train", join(dir, "train.tsv"), "--dev", join(dir, "dev.tsv"), "--logs-dir", join(dir, "logs"), "--config", tiny];

beforeAll(async () => {
  await selectBackend("wasm");
  const train = generateRankLists(16, 1);
  writeFileSync(join(dir, "train.tsv"), toRankTsv(train));
  writeFileSync(join(dir, "dev.tsv"), toRankTsv(generateRankLists(8, 2, new Set(train.flatMap((l) => l.texts)))));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("reward train --engine", () => {
  it("refuses an unknown engine", async () => {
    await expect(rewardTrain([...base(), "--out", join(dir, "x"), "--engine", "torch"])).rejects.toThrow(UserError);
    await expect(rewardTrain([...base(), "--out", join(dir, "x"), "--engine", "torch"])).rejects.toThrow(/--engine must be onnx or tfjs, got "torch"/);
  });

  it("trains on onnxruntime by default, with the recipe's dropout, and records both in run.json", async () => {
    const out = join(dir, "onnx");
    await rewardTrain([...base(), "--out", out]);
    const run = JSON.parse(readFileSync(join(out, "last", "run.json"), "utf8")) as { engine: string; dropout: number };
    expect(run.engine).toBe("onnx");
    expect(run.dropout).toBe(0.1);
  }, 60_000);
});
