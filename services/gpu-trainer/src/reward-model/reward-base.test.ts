import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, describe, expect, it } from "vitest";
import { loadBertDir, saveBertDir } from "../io/bert-dir.ts";
import { BertConfigSchema, bertForward, bertParamSpecs } from "../models/bert.ts";
import { disposeParams, initParams } from "../models/params.ts";
import { buildCharVocab } from "../tokenizer/build-vocab.ts";
import { WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { isModelDir, rewardBaseFromClassifier } from "./reward-base.ts";
import { scoreItems } from "./score-tfjs.ts";

const home = mkdtempSync(join(tmpdir(), "ranklab-reward-base-unit-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe("a reward base from a sentiment classifier", () => {
  it("scores a text with the classifier's log-odds of positive, and keeps its encoder and reward input", () => {
    const texts = ["质量很好，非常满意", "太差了，很失望", "一般般吧"];
    const vocab = buildCharVocab(texts, 200);
    const config = BertConfigSchema.parse({
      vocab_size: vocab.tokens.length,
      hidden_size: 16,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      intermediate_size: 32,
      max_position_embeddings: 32,
      num_labels: 2,
      classifier_pooling: "mean",
      reward_input: "concat",
    });
    const tokenizer = new WordPieceTokenizer(vocab);
    saveBertDir(join(home, "cls"), { config, tokenizer, params: initParams(bertParamSpecs(config), 7) });
    rewardBaseFromClassifier(join(home, "cls"), join(home, "base"));
    expect(isModelDir(join(home, "base"))).toBe(true);

    const cls = loadBertDir(join(home, "cls"));
    const base = loadBertDir(join(home, "base"));
    try {
      expect(base.config).toMatchObject({ num_labels: 1, hidden_size: 16, reward_input: "concat" });
      const enc = tokenizer.encodeBatch(texts, 32);
      const logits = tf.tidy(
        () =>
          bertForward(
            cls.params,
            cls.config,
            {
              inputIds: tf.tensor2d(enc.inputIds, [enc.batch, enc.length], "int32"),
              attentionMask: tf.tensor2d(enc.attentionMask, [enc.batch, enc.length], "int32"),
              tokenTypeIds: tf.tensor2d(enc.tokenTypeIds, [enc.batch, enc.length], "int32"),
            },
            0,
            true,
          ).arraySync() as number[][],
      );
      const rewards = scoreItems(
        base,
        texts.map((completion) => ({ completion })),
        { maxLength: 32, batchSize: 8 },
      );
      rewards.forEach((r, i) => expect(r).toBeCloseTo(logits[i]![1]! - logits[i]![0]!, 4));
      // Not a constant: the texts get different rewards.
      expect(new Set(rewards.map((r) => r.toFixed(4))).size).toBe(3);
    } finally {
      disposeParams(cls.params);
      disposeParams(base.params);
    }
  });

  it("refuses a model that is not a 2-way classifier", () => {
    expect(() => rewardBaseFromClassifier(join(home, "base"), join(home, "base2"))).toThrow(/2-way classifier/);
  });
});
