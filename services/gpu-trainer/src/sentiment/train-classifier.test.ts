import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { generateReviews } from "../data/review-corpus.ts";
import type { BertWeights } from "../io/bert-dir.ts";
import { initStore } from "../io/weight-store.ts";
import { BertConfigSchema, bertParamSpecs } from "../models/bert.ts";
import { buildCharVocab } from "../tokenizer/build-vocab.ts";
import { WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { ClassifierTrainSchema, softmaxCrossEntropyGrad, trainClassifier, type LabelledText } from "./train-classifier.ts";

const reviews = generateReviews(160, 3);
const labelled: LabelledText[] = reviews.map((r) => ({ text: r.text, label: r.label === "positive" ? 1 : 0 }));
const tokenizer = new WordPieceTokenizer(
  buildCharVocab(
    labelled.map((l) => l.text),
    800,
  ),
  { lowercase: true, maxCharsPerWord: 100 },
);
const config = BertConfigSchema.parse({
  vocab_size: tokenizer.size,
  hidden_size: 16,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 32,
  max_position_embeddings: 48,
  num_labels: 2,
  classifier_pooling: "mean",
  reward_input: "concat",
});
const fresh = (): BertWeights => ({ config, tokenizer, weights: initStore(bertParamSpecs(config), 5) });

beforeAll(async () => {
  await selectBackend("wasm");
});

describe("the sentiment classifier's training", () => {
  it("has the softmax cross-entropy gradient of a direct computation", () => {
    const logits = Float32Array.of(0.3, -1.2, 2, 0.5, -0.1, -0.1);
    const labels = [1, 0, 1];
    const { loss, dLogits } = softmaxCrossEntropyGrad(logits, labels);
    const lossAt = (z: Float32Array) => softmaxCrossEntropyGrad(z, labels).loss;
    expect(loss).toBeCloseTo((Math.log(Math.exp(0.3) + Math.exp(-1.2)) + 1.2 + Math.log(Math.exp(2) + Math.exp(0.5)) - 2 + Math.log(2) + 0.1 - 0.1) / 3, 6);
    for (let i = 0; i < logits.length; i++) {
      const up = Float32Array.from(logits);
      const down = Float32Array.from(logits);
      up[i]! += 1e-3;
      down[i]! -= 1e-3;
      expect(dLogits[i]).toBeCloseTo((lossAt(up) - lossAt(down)) / 2e-3, 4);
    }
  });

  it("trains on onnxruntime as on tfjs (dropout off): the same held-out accuracy and nearly the same weights, in the store", async () => {
    const train = ClassifierTrainSchema.parse({ epochs: 2, batchSize: 16, learningRate: 3e-3, maxLength: 48, dropout: 0, quiet: true });
    const [onnx, tfjs] = [fresh(), fresh()];
    const start = Float32Array.from(onnx.weights.get("classifier.weight")!);
    const heldOut = labelled.slice(0, 40);
    const a = await trainClassifier(onnx, labelled.slice(40), heldOut, { ...train, engine: "onnx" }, () => {});
    const b = await trainClassifier(tfjs, labelled.slice(40), heldOut, { ...train, engine: "tfjs" }, () => {});
    expect(a).toBe(b);
    let err = 0;
    for (const [name, want] of tfjs.weights) {
      const got = onnx.weights.get(name)!;
      for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i]! - want[i]!));
    }
    // 16 Adam steps at lr 3e-3 move a weight by up to ~0.05; the engines agree far inside one step.
    expect(err).toBeLessThan(1e-4);
    expect(onnx.weights.get("classifier.weight")).not.toEqual(start);
  }, 60_000);

  it("trains with the recipe's dropout on the engine", async () => {
    const model = fresh();
    const accuracy = await trainClassifier(
      model,
      labelled.slice(40),
      labelled.slice(0, 40),
      ClassifierTrainSchema.parse({ epochs: 3, batchSize: 16, learningRate: 3e-3, maxLength: 48, dropout: 0.1, quiet: true }),
      () => {},
    );
    expect(accuracy).toBeGreaterThan(0.6);
  }, 60_000);
});
