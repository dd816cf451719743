import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import type { BertModel } from "../io/bert-dir.ts";
import { BertConfigSchema, bertForward, bertParamSpecs } from "../models/bert.ts";
import { disposeParams, initParams } from "../models/params.ts";
import { vocabFromTokens } from "../tokenizer/vocab.ts";
import { WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { encodeRewardItems } from "./reward-input.ts";
import { asItems, scoreItems } from "./score-tfjs.ts";

const TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ..."好差很不错垃圾喜欢失望，。！这电影".split("")];
const TEXTS = Array.from({ length: 16 }, (_, i) => "这电影很好！不错，喜欢。很差垃圾失望".repeat(3).slice(i % 7, 40 + (i % 9)));

/**
 * Issue 14 part 4: the tfjs scorer frees each block's intermediates before the next
 * block runs, so an ERNIE-base batch no longer holds twelve layers of attention at once.
 * tf.profile's peak bytes is the engine's own count of live tensor memory.
 */
describe("tfjs scoring, block by block", () => {
  const config = BertConfigSchema.parse({
    vocab_size: TOKENS.length,
    hidden_size: 32,
    num_hidden_layers: 6,
    num_attention_heads: 4,
    intermediate_size: 128,
    max_position_embeddings: 64,
    num_labels: 1,
  });
  let model: BertModel;
  const items = asItems(TEXTS);
  const options = { maxLength: 48, batchSize: 16 };

  beforeAll(async () => {
    await selectBackend("wasm");
    // Made after the backend is chosen, so the weights live where the kernels run.
    model = { config, tokenizer: new WordPieceTokenizer(vocabFromTokens(TOKENS, "tiny")), params: initParams(bertParamSpecs(config), 3, 0.2) };
  });

  /** The old scorer: one tidy over the whole forward pass of the batch. */
  function wholePass(): number[] {
    const enc = encodeRewardItems(model.tokenizer, "completion", items, options.maxLength);
    const out = tf.tidy(() =>
      bertForward(model.params, config, {
        inputIds: tf.tensor2d(enc.inputIds, [enc.batch, enc.length], "int32"),
        attentionMask: tf.tensor2d(enc.attentionMask, [enc.batch, enc.length], "int32"),
        tokenTypeIds: tf.tensor2d(enc.tokenTypeIds, [enc.batch, enc.length], "int32"),
      }),
    );
    const values = Array.from(out.dataSync());
    out.dispose();
    return values;
  }

  it("gives the same scores with a lower peak of live tensor memory, and leaks nothing", async () => {
    const before = tf.memory().numTensors;
    let chunked: number[] = [];
    let whole: number[] = [];
    // Peak bytes count every live tensor, the weights too: compare what each pass adds on top.
    const base = tf.memory().numBytes;
    // tf.profile hands back one object it reuses: read each peak before the next profile.
    const chunkedPeak = (
      await tf.profile(() => {
        chunked = scoreItems(model, items, options);
      })
    ).peakBytes;
    const wholePeak = (
      await tf.profile(() => {
        whole = wholePass();
      })
    ).peakBytes;
    expect(tf.memory().numTensors).toBe(before);
    expect(chunked).toHaveLength(TEXTS.length);
    chunked.forEach((s, i) => expect(s).toBeCloseTo(whole[i]!, 6));
    // Six blocks' intermediates at once against one block's (plus the hidden states): well under half.
    expect(chunkedPeak - base).toBeLessThan((wholePeak - base) * 0.5);
  });

  afterAll(() => disposeParams(model.params));
});
