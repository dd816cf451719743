import * as tf from "@tensorflow/tfjs";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { loadBertDir, saveBertDir } from "../io/bert-dir.ts";
import { vocabFromTokens } from "../tokenizer/vocab.ts";
import { WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { bertForward, bertParamSpecs, BertConfigSchema, bigramIds } from "./bert.ts";
import { initParams } from "./params.ts";

const TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ..."好差很不错垃圾喜欢失望，。！".split("")];
const tokenizer = new WordPieceTokenizer(vocabFromTokens(TOKENS, "tiny"));
const config = BertConfigSchema.parse({
  vocab_size: TOKENS.length,
  hidden_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 32,
  max_position_embeddings: 32,
});

function forward(params: ReturnType<typeof initParams>, texts: string[], cfg = config) {
  const enc = tokenizer.encodeBatch(texts, 16);
  return tf.tidy(() =>
    bertForward(params, cfg, {
      inputIds: tf.tensor2d(enc.inputIds, [enc.batch, enc.length], "int32"),
      attentionMask: tf.tensor2d(enc.attentionMask, [enc.batch, enc.length], "int32"),
    }).arraySync(),
  );
}

beforeAll(async () => {
  await selectBackend("wasm");
});

describe("BERT encoder with a scalar head", () => {
  it("gives one finite output per row, unaffected by padding", () => {
    const params = initParams(bertParamSpecs(config), 1);
    const batch = forward(params, ["很好", "很不错很喜欢！"]);
    expect(batch).toHaveLength(2);
    expect(batch[0]).toHaveLength(1);
    // Padding must not change a row's output: "很好" alone vs. padded beside a longer text.
    const alone = forward(params, ["很好"]);
    expect(batch[0]![0]).toBeCloseTo(alone[0]![0]!, 5);
  });

  it("saves Hugging Face weight names and reloads to identical outputs", () => {
    const params = initParams(bertParamSpecs(config), 2);
    const dir = mkdtempSync(join(tmpdir(), "bert-"));
    saveBertDir(dir, { config, params, tokenizer }, { "metrics.json": { accuracy: 0.5 } });
    const loaded = loadBertDir(dir);
    expect(loaded.config.hidden_size).toBe(16);
    expect([...loaded.params.keys()]).toContain("bert.encoder.layer.1.attention.self.query.weight");
    expect(forward(loaded.params, ["很好", "垃圾，失望"])).toEqual(forward(params, ["很好", "垃圾，失望"]));
  });

  it("writes a plain BERT as BertForSequenceClassification, and a model transformers would score differently under ranklab's own model_type", () => {
    const written = (cfg: typeof config) => {
      const dir = mkdtempSync(join(tmpdir(), "bert-"));
      const params = initParams(bertParamSpecs(cfg), 5);
      saveBertDir(dir, { config: cfg, params, tokenizer });
      const json = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as { model_type: string; architectures: string[] };
      // Reloads as the same model, with the same outputs.
      const loaded = loadBertDir(dir);
      expect(loaded.config).toMatchObject({ model_type: cfg.model_type, classifier_pooling: cfg.classifier_pooling, bigram_buckets: cfg.bigram_buckets });
      expect(forward(loaded.params, ["很好", "垃圾，失望"], loaded.config)).toEqual(forward(params, ["很好", "垃圾，失望"], cfg));
      return [json.model_type, json.architectures[0]];
    };
    expect(written(config)).toEqual(["bert", "BertForSequenceClassification"]);
    // transformers pools on [CLS] through the pooler and knows no bigram table: these would load there as plain BERT and score differently.
    expect(written(BertConfigSchema.parse({ ...config, classifier_pooling: "mean" }))).toEqual(["ranklab_bert", "RanklabBertForSequenceClassification"]);
    expect(written(BertConfigSchema.parse({ ...config, bigram_buckets: 31 }))).toEqual(["ranklab_bert", "RanklabBertForSequenceClassification"]);
    expect(written(BertConfigSchema.parse({ ...config, add_pooling_layer: false }))).toEqual(["ranklab_bert", "RanklabBertForSequenceClassification"]);
    expect(written(BertConfigSchema.parse({ ...config, model_type: "ernie", use_task_id: true }))).toEqual(["ernie", "ErnieForSequenceClassification"]);
    expect(written(BertConfigSchema.parse({ ...config, model_type: "ernie", classifier_pooling: "mean" }))).toEqual([
      "ranklab_ernie",
      "RanklabErnieForSequenceClassification",
    ]);
  });

  it("refuses a config.json that does not match the weights, naming the weight", () => {
    const params = initParams(bertParamSpecs(config), 3);
    const dir = mkdtempSync(join(tmpdir(), "bert-"));
    saveBertDir(dir, { config, params, tokenizer });
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...config, hidden_size: 32, intermediate_size: 32 }));
    expect(() => loadBertDir(dir)).toThrow(
      /model\.safetensors: bert\.embeddings\.word_embeddings\.weight has shape \[\d+,16\] but config\.json implies \[\d+,32\]/,
    );
    writeFileSync(join(dir, "config.json"), "{ nope");
    expect(() => loadBertDir(dir)).toThrow(/config\.json: not valid JSON/);
  });

  it("trains: loss falls and every parameter changes", async () => {
    const params = initParams(bertParamSpecs(config), 4);
    const before = new Map([...params].map(([k, v]) => [k, v.dataSync().slice()]));
    const enc = tokenizer.encodeBatch(["很好很喜欢", "垃圾很失望", "不错", "很差"], 8);
    const ids = tf.tensor2d(enc.inputIds, [enc.batch, enc.length], "int32");
    const mask = tf.tensor2d(enc.attentionMask, [enc.batch, enc.length], "int32");
    const target = tf.tensor1d([1, -1, 1, -1]);
    const optimizer = tf.train.adam(1e-2);
    const losses: number[] = [];
    for (let step = 0; step < 15; step++) {
      const loss = optimizer.minimize(
        () => tf.mean(tf.square(tf.sub(tf.squeeze(bertForward(params, config, { inputIds: ids, attentionMask: mask })), target))) as tf.Scalar,
        true,
        [...params.values()],
      );
      losses.push(loss!.dataSync()[0]!);
      loss!.dispose();
    }
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! * 0.5);
    for (const [name, value] of params) {
      // The [MASK] row and unused position rows of embeddings get no gradient; the tensor as a whole must move.
      const moved = value.dataSync().some((x, i) => x !== before.get(name)![i]);
      expect({ name, moved }).toEqual({ name, moved: true });
    }
  });

  it("hashes each token with the next into a bigram bucket (by hand: P mod 97 = 93)", () => {
    // (3·93 + 5) mod 97 = 90; (5·93 + 0) mod 97 = 77; the last pairs with [PAD]: 0.
    const ids = tf.tensor2d([[3, 5, 0]], [1, 3], "int32");
    expect(bigramIds(ids, 97).arraySync()).toEqual([[90, 77, 0]]);
    // Large ids stay exact in int32.
    expect(bigramIds(tf.tensor2d([[21127, 21126]], [1, 2], "int32"), 32768).arraySync()).toEqual([
      [Number((21127n * 100003n + 21126n) % 32768n), Number((21126n * 100003n) % 32768n)],
    ]);
  });
});
