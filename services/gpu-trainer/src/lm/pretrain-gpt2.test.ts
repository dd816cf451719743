import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { generateReviews } from "../data/review-corpus.ts";
import type { Gpt2Weights } from "../io/gpt2-dir.ts";
import { initStore } from "../io/weight-store.ts";
import { gpt2ParamSpecs, Gpt2ConfigSchema } from "../models/gpt2.ts";
import { buildCharVocab } from "../tokenizer/build-vocab.ts";
import { WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { LmTrainSchema, pretrainGpt2 } from "./pretrain-gpt2.ts";

const texts = generateReviews(96, 4).map((r) => r.text);
const tokenizer = new WordPieceTokenizer(buildCharVocab(texts, 2000));
const config = Gpt2ConfigSchema.parse({ vocab_size: tokenizer.vocab.tokens.length, n_positions: 24, n_embd: 32, n_layer: 2, n_head: 4 });
const model = (): Gpt2Weights => ({ config, tokenizer, weights: initStore(gpt2ParamSpecs(config), 7), hasValueHead: false });

beforeAll(async () => {
  await selectBackend("wasm");
});

describe("GPT-2 pretraining on onnxruntime", () => {
  it("follows tfjs's training run: the same loss each epoch and nearly the same weights", async () => {
    const train = LmTrainSchema.parse({ epochs: 3, batchSize: 16, learningRate: 3e-3, warmupSteps: 4, maxLength: 24, quiet: true });
    const [a, b] = [model(), model()];
    const tfjsLosses = await pretrainGpt2(a, texts, { ...train, engine: "tfjs" }, () => {});
    const onnxLosses = await pretrainGpt2(b, texts, { ...train, engine: "onnx" }, () => {});
    // It learns (from ln(vocab) ≈ 5.7) ...
    expect(tfjsLosses[2]!).toBeLessThan(tfjsLosses[0]! - 0.5);
    // ... and both engines trace the same curve: 18 Adam steps apart only by float32 rounding
    // (measured: epoch losses within 8e-6, weights within 2e-6).
    onnxLosses.forEach((loss, i) => expect(Math.abs(loss - tfjsLosses[i]!)).toBeLessThan(1e-4));
    let err = 0;
    for (const [name, want] of a.weights) {
      const got = b.weights.get(name)!;
      for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i]! - want[i]!));
    }
    // Adam moves a weight by up to lr (3e-3) a step; the engines' weights stay within a thirtieth of one step.
    expect(err).toBeLessThan(1e-4);
  });
});
