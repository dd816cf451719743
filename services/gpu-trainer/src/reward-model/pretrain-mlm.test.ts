import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { generateReviews } from "../data/review-corpus.ts";
import type { BertModel } from "../io/bert-dir.ts";
import { BertConfigSchema, bertParamSpecs } from "../models/bert.ts";
import { initParams } from "../models/params.ts";
import { buildCharVocab } from "../tokenizer/build-vocab.ts";
import { WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { seededRandom } from "../util/random.ts";
import { maskBatch, pretrainMlm } from "./pretrain-mlm.ts";

const texts = generateReviews(256, 4).map((r) => r.text);
function tiny(): BertModel {
  const vocab = buildCharVocab(texts, 800);
  const config = BertConfigSchema.parse({
    vocab_size: vocab.tokens.length,
    hidden_size: 32,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 64,
    max_position_embeddings: 64,
    num_labels: 1,
  });
  return { config, tokenizer: new WordPieceTokenizer(vocab), params: initParams(bertParamSpecs(config), 1) };
}

describe("masked-LM pretraining", () => {
  beforeAll(async () => {
    await selectBackend("wasm");
  });

  it("masks ~15% of real tokens, never [CLS]/[SEP]/[PAD], at least one a row, keeping the originals as labels", () => {
    const model = tiny();
    const batch = maskBatch(model, texts.slice(0, 64), 64, 0.15, seededRandom(1));
    const clean = model.tokenizer.encodeBatch(texts.slice(0, 64), 64);
    const special = new Set([model.tokenizer.cls, model.tokenizer.sep, model.tokenizer.pad]);
    const real = clean.inputIds.filter((id) => !special.has(id)).length;
    expect(batch.positions.length / real).toBeGreaterThan(0.1);
    expect(batch.positions.length / real).toBeLessThan(0.2);
    batch.positions.forEach((pos, k) => {
      expect(special.has(clean.inputIds[pos]!)).toBe(false);
      expect(batch.labels[k]).toBe(clean.inputIds[pos]);
    });
    const rows = new Set(Array.from(batch.positions, (p) => Math.floor(p / batch.length)));
    expect(rows.size).toBe(64);
    const maskId = model.tokenizer.vocab.ids.get("[MASK]")!;
    const masked = Array.from(batch.positions).filter((p) => batch.inputIds[p] === maskId).length;
    expect(masked / batch.positions.length).toBeGreaterThan(0.65);
  });

  it("lowers the masked-token loss and trains the encoder, not the head", async () => {
    const model = tiny();
    const head = model.params.get("classifier.weight")!.dataSync().slice();
    const embeddings = model.params.get("bert.embeddings.word_embeddings.weight")!.dataSync().slice();
    const losses: number[] = [];
    await pretrainMlm(model, texts, { epochs: 8, maskRate: 0.15, batchSize: 32, learningRate: 3e-3, maxLength: 64, dropout: 0, seed: 1, quiet: true }, (l) => {
      const m = /loss ([\d.]+)/.exec(l);
      if (m) losses.push(Number(m[1]));
    });
    expect(losses).toHaveLength(8);
    expect(losses[7]!).toBeLessThan(losses[0]! * 0.8);
    expect(model.params.get("classifier.weight")!.dataSync()).toEqual(head);
    expect(model.params.get("bert.embeddings.word_embeddings.weight")!.dataSync()).not.toEqual(embeddings);
    expect(tf.memory().numTensors).toBeLessThan(200);
  });
});
