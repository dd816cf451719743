import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../src/backend/select-backend.ts";
import { generateReviews } from "../src/data/review-corpus.ts";
import type { BertModel } from "../src/io/bert-dir.ts";
import { BertConfigSchema, bertForward, bertParamSpecs } from "../src/models/bert.ts";
import { disposeParams, initParams } from "../src/models/params.ts";
import { encodeRewardItems } from "../src/reward-model/reward-input.ts";
import { asItems, scoreItems } from "../src/reward-model/score-tfjs.ts";
import { buildCharVocab } from "../src/tokenizer/build-vocab.ts";
import { vocabFromTokens } from "../src/tokenizer/vocab.ts";
import { WordPieceTokenizer } from "../src/tokenizer/wordpiece.ts";
import { fmt } from "./timing.ts";

/**
 * Issue 14 part 4: an ERNIE-base-sized reward model (12 × 768, vocabulary 21,128, random
 * weights) scoring one batch of generated reviews on tfjs, block by block (the scorer
 * now) against one tidy over the whole forward pass (the scorer before, the baseline,
 * which aborted at batch 16 and 32 on wasm). Prints tf.profile's peak of live tensor
 * memory above the weights and the time of each; BENCH_SCORE_BATCH (32) and
 * BENCH_SCORE_TOKENS (128) choose the batch. The baseline runs last: a wasm abort can
 * leave the backend unusable.
 */
export async function benchScoringMemory(): Promise<void> {
  const backend = await selectBackend();
  const batch = Number(process.env.BENCH_SCORE_BATCH ?? 32);
  const maxLength = Number(process.env.BENCH_SCORE_TOKENS ?? 128);
  const reviews = generateReviews(batch, 3).map((r) => r.text.repeat(4));
  const chars = buildCharVocab(reviews, 21128).tokens;
  const tokens = [...chars, ...Array.from({ length: 21128 - chars.length }, (_, i) => `[unused${i}]`)];
  const tokenizer = new WordPieceTokenizer(vocabFromTokens(tokens, "bench"));
  const config = BertConfigSchema.parse({
    vocab_size: 21128,
    hidden_size: 768,
    num_hidden_layers: 12,
    num_attention_heads: 12,
    intermediate_size: 3072,
    max_position_embeddings: 512,
    num_labels: 1,
  });
  const model: BertModel = { config, tokenizer, params: initParams(bertParamSpecs(config), 2) };
  const items = asItems(reviews);
  const enc = encodeRewardItems(tokenizer, "completion", items, maxLength);
  console.log(`ERNIE-base-sized reward model (12 × 768, 102M parameters) on tfjs ${backend.name}, one batch of ${batch} × ${enc.length} tokens`);
  const base = tf.memory().numBytes;
  const run = async (name: string, score: () => void) => {
    const started = performance.now();
    try {
      const peak = (await tf.profile(score)).peakBytes;
      const seconds = (performance.now() - started) / 1000;
      return { name, seconds, peakMb: (peak - base) / 2 ** 20 };
    } catch (error) {
      return { name, seconds: (performance.now() - started) / 1000, error: String(error).slice(0, 120) };
    }
  };
  const show = (r: Awaited<ReturnType<typeof run>>) =>
    console.log(
      `  ${r.name}: ${"error" in r ? `failed after ${fmt(r.seconds)} s: ${r.error}` : `peak ${fmt(r.peakMb, 0)} MB of tensors above the weights, ${fmt(r.seconds)} s`}`,
    );
  const chunked = await run("block by block (the scorer)", () => {
    scoreItems(model, items, { maxLength, batchSize: batch });
  });
  show(chunked);
  // Printed before the baseline runs: wasm's abort on running out of heap ends the process (measured at batch 32 × 128).
  console.log("  one tidy over the whole pass (the old scorer, baseline): running; a wasm `Aborted()` from here on is the baseline running out of heap");
  const whole = await run("one tidy over the whole pass (the old scorer, baseline)", () => {
    const out = tf.tidy(() =>
      bertForward(model.params, config, {
        inputIds: tf.tensor2d(enc.inputIds, [enc.batch, enc.length], "int32"),
        attentionMask: tf.tensor2d(enc.attentionMask, [enc.batch, enc.length], "int32"),
        tokenTypeIds: tf.tensor2d(enc.tokenTypeIds, [enc.batch, enc.length], "int32"),
      }),
    );
    out.dataSync();
    out.dispose();
  });
  show(whole);
  if (!("error" in chunked) && !("error" in whole))
    console.log(`  peak memory: ${fmt(chunked.peakMb / whole.peakMb, 2)}× the baseline's; time ${fmt(chunked.seconds / whole.seconds, 2)}× the baseline's`);
  disposeParams(model.params);
}
