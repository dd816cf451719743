/**
 * Sizing the real-corpus policy: tokens per second of GPT-2 pretraining (pretrainGpt2,
 * the engine prepare uses) for a few sizes on real reviews, each as a ratio to
 * prepare's generated-corpus size (2 layers × 128) measured in the same process, and
 * the minutes one epoch of the corpus would take.
 *
 *   npx tsx services/gpu-trainer/src/lm/pretrain-speed.ts [FILE.csv…]
 *
 * Files default to ../shared/data/corpora/*.csv. SPEED_SECONDS (default 30) bounds
 * each size's measured phase; the sizes run one after another, never at once.
 */
import { selectBackend } from "../backend/select-backend.ts";
import { defaultCorpusFiles } from "../data/default-corpus.ts";
import { isHeldOut, readCorpusFiles } from "../data/corpus-csv.ts";
import type { Gpt2Weights } from "../io/gpt2-dir.ts";
import { initStore } from "../io/weight-store.ts";
import { gpt2ParamSpecs, Gpt2ConfigSchema } from "../models/gpt2.ts";
import { buildCharVocab } from "../tokenizer/build-vocab.ts";
import { WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { LmTrainSchema, lmSequence, pretrainGpt2 } from "./pretrain-gpt2.ts";

const seconds = Number(process.env.SPEED_SECONDS ?? 30);
const files = process.argv.length > 2 ? process.argv.slice(2) : defaultCorpusFiles();
if (!files || files.length === 0) {
  console.log("pretrain-speed: no corpus (give CSV files, or put the corpora in ../shared/data/corpora); nothing measured");
  process.exit(0);
}
await selectBackend("wasm");
const texts = readCorpusFiles(files)
  .flatMap((f) => f.reviews)
  .filter((r) => !isHeldOut(r.text, 0.05))
  .map((r) => r.text);
const tokenizer = new WordPieceTokenizer(buildCharVocab(texts, 3000));
const maxLength = 64;
const batchSize = 32;
console.log(
  `pretrain-speed: ${texts.length} reviews from ${files.join(", ")}; vocab ${tokenizer.vocab.tokens.length}; batch ${batchSize} × ≤${maxLength} tokens; ${seconds} s a size`,
);

const sizes = [
  { n_embd: 128, n_layer: 2, n_head: 4 },
  { n_embd: 192, n_layer: 3, n_head: 6 },
  { n_embd: 256, n_layer: 4, n_head: 8 },
];
const tokensOf = (batch: readonly string[], model: Gpt2Weights) => batch.reduce((s, t) => s + lmSequence(model, t, maxLength).length, 0);
const epochTokens = texts.reduce((s, t) => s + Math.min(maxLength, [...t].length + 2), 0);
let baseline = 0;
for (const size of sizes) {
  const config = Gpt2ConfigSchema.parse({
    vocab_size: tokenizer.vocab.tokens.length,
    n_positions: maxLength,
    ...size,
    bos_token_id: tokenizer.cls,
    eos_token_id: tokenizer.sep,
    pad_token_id: tokenizer.pad,
  });
  const model: Gpt2Weights = { config, tokenizer, weights: initStore(gpt2ParamSpecs(config), 1), hasValueHead: false };
  const train = LmTrainSchema.parse({ epochs: 1, batchSize, maxLength, quiet: true, engine: "onnx" });
  // A short run first (engine start-up and warm-up), then batches for about `seconds`; the difference is the steady rate.
  const warm = texts.slice(0, batchSize * 4);
  let t0 = performance.now();
  await pretrainGpt2(model, warm, train, () => {});
  const warmMs = performance.now() - t0;
  const perBatchMs = warmMs / 4;
  const batches = Math.max(8, Math.round((seconds * 1000) / perBatchMs));
  const run = texts.slice(batchSize * 4, batchSize * (4 + batches));
  t0 = performance.now();
  await pretrainGpt2(model, [...warm, ...run], train, () => {});
  const ms = performance.now() - t0 - warmMs;
  const rate = tokensOf(run, model) / (ms / 1000);
  if (baseline === 0) baseline = rate;
  const params = [...model.weights.values()].reduce((s, v) => s + v.length, 0);
  console.log(
    `${size.n_layer} layers × ${size.n_embd} (${(params / 1e6).toFixed(2)}M params): ${rate.toFixed(0)} tokens/s (${(rate / baseline).toFixed(2)}× the 2 × 128 baseline); one epoch of ${epochTokens} tokens ≈ ${(epochTokens / rate / 60).toFixed(1)} min`,
  );
}
