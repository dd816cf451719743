import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { saveBertDir, type BertModel } from "../io/bert-dir.ts";
import { BertConfigSchema, bertParamSpecs, type BertConfig } from "../models/bert.ts";
import { initParams } from "../models/params.ts";
import { asItems, scoreItems } from "../reward-model/score-tfjs.ts";
import { vocabFromTokens } from "../tokenizer/vocab.ts";
import { WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { OnnxBertScorer } from "./bert-session.ts";
import * as ort from "onnxruntime-node";
import { OnnxBertEngine } from "../engine/bert-engine.ts";
import { initStore } from "../io/weight-store.ts";
import { bertToOnnx, exportBertOnnx } from "./export-bert.ts";

const TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ..."好差很不错垃圾喜欢失望，。！这电影".split("")];
const tokenizer = new WordPieceTokenizer(vocabFromTokens(TOKENS, "tiny"));
const TEXTS = ["这电影很好！", "很差", "垃圾，失望。", "不错不错，喜欢这电影", "好"];

async function parity(overrides: Partial<BertConfig>) {
  const config = BertConfigSchema.parse({
    vocab_size: TOKENS.length,
    hidden_size: 16,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 32,
    max_position_embeddings: 32,
    ...overrides,
  });
  const model: BertModel = { config, tokenizer, params: initParams(bertParamSpecs(config), 4, 0.2) };
  const dir = mkdtempSync(join(tmpdir(), "ranklab-onnx-bert-"));
  saveBertDir(dir, model);
  exportBertOnnx(dir, model);
  const scorer = await OnnxBertScorer.open(dir, model);
  const options = { maxLength: 16, batchSize: 8 };
  const items = asItems(TEXTS, overrides.type_vocab_size ? TEXTS.map(() => "这电影") : undefined);
  const onnx = await scorer.score(items, options);
  const tfjs = scoreItems(model, items, options);
  await scorer.close();
  return { onnx, tfjs };
}

describe("BERT export to ONNX", () => {
  beforeAll(async () => {
    await selectBackend("wasm");
  });

  const cases: [string, Partial<BertConfig>][] = [
    ["a reward model ([CLS] pooling, erf GELU)", { num_labels: 1 }],
    ["a 2-way sentiment classifier (P(positive))", { num_labels: 2 }],
    ["mean pooling, tanh GELU, no pooler", { num_labels: 1, classifier_pooling: "mean", hidden_act: "gelu_new", add_pooling_layer: false }],
    ["torch's tanh GELU (gelu_pytorch_tanh)", { num_labels: 1, hidden_act: "gelu_pytorch_tanh" }],
    ["hashed bigram embeddings (ranklab's small models)", { num_labels: 1, classifier_pooling: "mean", bigram_buckets: 97 }],
    ["ERNIE with task-type embeddings and text pairs", { num_labels: 1, model_type: "ernie", use_task_id: true, type_vocab_size: 4 }],
  ];
  for (const [name, overrides] of cases) {
    it(`agrees with tfjs within 1e-4: ${name}`, async () => {
      const { onnx, tfjs } = await parity(overrides);
      expect(onnx).toHaveLength(TEXTS.length);
      onnx.forEach((v, i) => expect(Math.abs(v - tfjs[i]!)).toBeLessThan(1e-4));
      // Not all equal: the test would pass on a constant otherwise.
      expect(new Set(onnx.map((v) => v.toFixed(5))).size).toBeGreaterThan(1);
    });
  }

  // model.onnx and the training graphs are one forward pass (engine/bert-forward-graph.ts) built two ways:
  // Hugging Face's inputs with the bias, bigrams and pooling computed in the graph, or those fed from TypeScript.
  for (const [name, overrides] of [
    ["[CLS] pooling, pooler, text pairs", { type_vocab_size: 2 }],
    [
      "ERNIE, mean pooling, bigrams, no pooler",
      { model_type: "ernie", use_task_id: true, classifier_pooling: "mean", bigram_buckets: 97, add_pooling_layer: false },
    ],
  ] as [string, Partial<BertConfig>][]) {
    it(`gives the training engine's outputs on the same weights within 1e-5: ${name}`, async () => {
      const config = BertConfigSchema.parse({
        vocab_size: TOKENS.length,
        hidden_size: 16,
        num_hidden_layers: 2,
        num_attention_heads: 2,
        intermediate_size: 32,
        max_position_embeddings: 32,
        num_labels: 2,
        ...overrides,
      });
      const model = { config, tokenizer, weights: initStore(bertParamSpecs(config), 4, 0.2) };
      const enc = tokenizer.encodeBatch(
        TEXTS,
        16,
        TEXTS.map(() => "这电影"),
      );
      const int64 = (v: Int32Array) => new ort.Tensor("int64", BigInt64Array.from(v, BigInt), [enc.batch, enc.length]);
      const session = await ort.InferenceSession.create(bertToOnnx(model));
      const logits = (await session.run({ input_ids: int64(enc.inputIds), attention_mask: int64(enc.attentionMask), token_type_ids: int64(enc.tokenTypeIds) }))
        .logits!.data as Float32Array;
      const engine = await OnnxBertEngine.fromStore(model, { threads: 1 });
      const outputs = await engine.outputs(enc);
      expect(logits).toHaveLength(outputs.length);
      outputs.forEach((v, i) => expect(Math.abs(v - logits[i]!), `output ${i}`).toBeLessThan(1e-5));
      expect(new Set(Array.from(outputs, (v) => v.toFixed(4))).size).toBeGreaterThan(2);
      await engine.close();
      await session.release();
    });
  }

  it("names the folder when model.onnx is missing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ranklab-onnx-none-"));
    await expect(
      OnnxBertScorer.open(dir, {
        config: BertConfigSchema.parse({
          vocab_size: 5,
          hidden_size: 4,
          num_hidden_layers: 1,
          num_attention_heads: 1,
          intermediate_size: 4,
          max_position_embeddings: 8,
        }),
        tokenizer,
      }),
    ).rejects.toThrow(`${dir}: no model.onnx`);
  });
});
