import * as tf from "@tensorflow/tfjs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { generateRankLists } from "../data/review-corpus.ts";
import { loadBertDir } from "../io/bert-dir.ts";
import { disposeParams } from "../models/params.ts";
import type { RankList } from "./rank-data.ts";
import { trainRewardModelOn } from "./train.ts";
import { RewardTrainConfigSchema } from "./train-config.ts";

const dir = mkdtempSync(join(tmpdir(), "ranklab-rm-engine-"));
// Some lists carry a rater weight, so the weighted rank loss is compared too.
const train: RankList[] = generateRankLists(64, 1).map((l, i) => (i % 3 === 0 ? { ...l, weight: 0.25 + (i % 5) / 4 } : l));
const dev = generateRankLists(16, 2, new Set(train.flatMap((l) => l.texts)));
const configFor = (name: string, engine: "onnx" | "tfjs", epochs: number) =>
  RewardTrainConfigSchema.parse({
    out: join(dir, name),
    logsDir: join(dir, `${name}-logs`),
    maxLength: 48,
    listsPerStep: 8,
    epochs,
    learningRate: 2e-3,
    dropout: 0,
    engine,
    logEvery: 1,
    evalEvery: 8,
    quiet: true,
    model: { hiddenSize: 32, layers: 1, heads: 2, intermediateSize: 64, maxVocab: 800 },
  });
const run = (name: string, engine: "onnx" | "tfjs", epochs: number) => trainRewardModelOn(configFor(name, engine, epochs), train, dev, () => {});

/** The largest difference between two runs' <out>/last weights, leaving out the parameters whose exact gradient is 0. */
function weightDifference(a: string, b: string): number {
  const x = loadBertDir(join(dir, a, "last"));
  const y = loadBertDir(join(dir, b, "last"));
  let err = 0;
  for (const [name, v] of x.params) {
    // The rank loss is shift-invariant (the classifier's bias) and so is the softmax (the attention key bias):
    // their gradients are float32 noise in both engines, which Adam turns into steps of ±lr. Not comparable.
    if (name === "classifier.bias" || name.endsWith("attention.self.key.bias")) continue;
    const p = v.dataSync();
    const q = y.params.get(name)!.dataSync();
    for (let i = 0; i < p.length; i++) err = Math.max(err, Math.abs(p[i]! - q[i]!));
  }
  disposeParams(x.params);
  disposeParams(y.params);
  return err;
}

beforeAll(async () => {
  await selectBackend("wasm");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("reward-model training on the onnxruntime engine", () => {
  it("trains on the config's engine: onnxruntime by default, dropout or not; tfjs when asked", () => {
    expect(RewardTrainConfigSchema.parse({ out: "x" }).engine).toBe("onnx");
    expect(RewardTrainConfigSchema.parse({ out: "x", dropout: 0.1 }).engine).toBe("onnx");
    expect(RewardTrainConfigSchema.parse({ out: "x", dropout: 0, engine: "tfjs" }).engine).toBe("tfjs");
  });

  it("applies dropout on onnxruntime: the same seed repeats a run exactly, dropout changes it, and it still learns", async () => {
    const withDropout = (name: string) => trainRewardModelOn({ ...configFor(name, "onnx", 2), dropout: 0.2 }, train, dev, () => {});
    const a = await withDropout("dropout-a");
    const b = await withDropout("dropout-b");
    const plain = await run("no-dropout", "onnx", 2);
    const losses = (h: typeof a.history) => h.filter((e) => e.loss !== undefined).map((e) => e.loss!);
    expect(losses(a.history)).toEqual(losses(b.history));
    expect(weightDifference("dropout-a", "dropout-b")).toBe(0);
    expect(losses(a.history).slice(1)).not.toEqual(losses(plain.history).slice(1));
    expect(a.bestAccuracy).toBeGreaterThan(0.6);
  }, 120_000);

  it("follows tfjs's run step for step: the same losses, dev accuracy and weights", async () => {
    const onnx = await run("onnx", "onnx", 2);
    const tfjs = await run("tfjs", "tfjs", 2);
    expect(onnx.steps).toBe(16);
    const losses = (h: typeof onnx.history) => h.filter((e) => e.loss !== undefined).map((e) => e.loss!);
    const a = losses(onnx.history);
    const b = losses(tfjs.history);
    expect(a).toHaveLength(16);
    // Losses within 2e-5 (measured 2.2e-6); they fall, so the run trains.
    a.forEach((l, i) => expect(Math.abs(l - b[i]!), `step ${i + 1}`).toBeLessThan(2e-5));
    expect(a.at(-1)!).toBeLessThan(a[0]!);
    expect(onnx.bestAccuracy).toBeCloseTo(tfjs.bestAccuracy, 6);
    // 16 Adam steps at lr 2e-3 move weights by up to 0.03; the runs agree within 1e-4 (measured 1.3e-5).
    expect(weightDifference("onnx", "tfjs")).toBeLessThan(1e-4);
  }, 120_000);

  it("resumes from <out>/last with Adam's state, on its own engine's state and on tfjs's", async () => {
    // One epoch, then a second from <out>/last: the same weights as two epochs straight.
    await run("onnx-resumed", "onnx", 1);
    const resumed = await run("onnx-resumed", "onnx", 2);
    expect(resumed.steps).toBe(16);
    expect(weightDifference("onnx-resumed", "onnx")).toBeLessThan(1e-6);
    // A tfjs run's optimizer state, resumed on onnxruntime: as two epochs on tfjs (the step count carries over,
    // so Adam's bias correction continues; restarting it would move the weights by far more than the tolerance).
    await run("mixed", "tfjs", 1);
    await run("mixed", "onnx", 2);
    expect(weightDifference("mixed", "tfjs")).toBeLessThan(1e-4);
  }, 120_000);

  it("pretrains a fresh model with masked LM on its engine: onnxruntime makes no tfjs tensor and ends where tfjs does", async () => {
    const pretrained = (name: string, engine: "onnx" | "tfjs") =>
      trainRewardModelOn({ ...configFor(name, engine, 1), pretrain: { epochs: 2, maskRate: 0.15, batchSize: 32, learningRate: 3e-3 } }, train, dev, () => {});
    const tensors = tf.memory().numTensors;
    const onnx = await pretrained("mlm-onnx", "onnx");
    expect(tf.memory().numTensors).toBe(tensors);
    await pretrained("mlm-tfjs", "tfjs");
    // Pretraining moved the encoder: not the plain run's weights.
    await run("plain-1", "onnx", 1);
    expect(weightDifference("mlm-onnx", "plain-1")).toBeGreaterThan(1e-3);
    // 2 epochs of masked LM (4 steps at lr 3e-3), then 8 rank-loss steps: within 1e-4 (measured 2.7e-5).
    expect(weightDifference("mlm-onnx", "mlm-tfjs")).toBeLessThan(1e-4);
    expect(onnx.steps).toBe(8);
  }, 120_000);
});
