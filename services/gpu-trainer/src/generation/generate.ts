import { seededRandom } from "../util/random.ts";
import { sampleToken, type Sampling } from "./sampling.ts";

/**
 * One step of a causal LM over new positions with a key/value cache. Implemented on
 * tfjs (decoder-tfjs.ts) and on onnxruntime-node (onnx/gpt2-session.ts), so the
 * sampling loop below is the same on both.
 */
export interface Decoder<Cache> {
  readonly vocabSize: number;
  /**
   * ids [B, T] (row-major), mask [B, past + T], positions [B, T]; returns the logits
   * of each row's last new position [B, vocab] and the extended cache.
   */
  forward(ids: Int32Array, mask: Int32Array, positions: Int32Array, batch: number, cache: Cache | null): Promise<{ lastLogits: Float32Array; cache: Cache }>;
  dispose(cache: Cache): void;
}

export interface GenerateOptions extends Sampling {
  /** Generation stops on any of these ([SEP], EOS); they are not part of the output. */
  stopTokens: readonly number[];
  padToken: number;
  /** Never drawn ([PAD], [CLS], [UNK]...). */
  bannedTokens?: readonly number[];
}

/**
 * Batched sampling: prompts are left-padded to one length so every row's next token is
 * the last column; each step feeds one token per row through the cache. Rows that hit
 * a stop token are finished (fed padding) while the others go on. Returns the new
 * tokens of each row, without the stop token. Deterministic under `options.seed`.
 */
export async function generate<C>(decoder: Decoder<C>, prompts: readonly (readonly number[])[], options: GenerateOptions): Promise<number[][]> {
  const B = prompts.length;
  if (B === 0) return [];
  const L = Math.max(...prompts.map((p) => p.length));
  if (prompts.some((p) => p.length === 0)) throw new Error("every prompt needs at least one token (e.g. [CLS])");
  const random = seededRandom(options.seed);
  const banned = new Set(options.bannedTokens ?? []);
  const stop = new Set(options.stopTokens);

  // 1. Prefill: the left-padded prompts in one pass.
  const ids = new Int32Array(B * L).fill(options.padToken);
  let mask = new Int32Array(B * L);
  const positions = new Int32Array(B * L);
  const nextPosition = new Int32Array(B);
  prompts.forEach((p, b) => {
    const offset = L - p.length;
    p.forEach((t, i) => {
      ids[b * L + offset + i] = t;
      mask[b * L + offset + i] = 1;
      positions[b * L + offset + i] = i;
    });
    nextPosition[b] = p.length;
  });
  let { lastLogits, cache } = await decoder.forward(ids, mask, positions, B, null);
  let width = L;

  const out: number[][] = prompts.map(() => []);
  const done = new Array<boolean>(B).fill(false);
  const V = decoder.vocabSize;
  try {
    for (let step = 0; step < options.maxNewTokens; step++) {
      // 2. Draw one token per unfinished row.
      const next = new Int32Array(B).fill(options.padToken);
      for (let b = 0; b < B; b++) {
        if (done[b]) continue;
        const token = sampleToken(lastLogits.subarray(b * V, (b + 1) * V), options, random, banned);
        if (stop.has(token)) done[b] = true;
        else {
          out[b]!.push(token);
          next[b] = token;
        }
      }
      if (done.every(Boolean) || step === options.maxNewTokens - 1) break;
      // 3. Feed them through the cache; finished rows feed masked padding.
      const grown = new Int32Array(B * (width + 1));
      for (let b = 0; b < B; b++) {
        grown.set(mask.subarray(b * width, (b + 1) * width), b * (width + 1));
        grown[b * (width + 1) + width] = done[b] ? 0 : 1;
      }
      mask = grown;
      width++;
      const stepPositions = Int32Array.from(nextPosition);
      for (let b = 0; b < B; b++) if (!done[b]) nextPosition[b]!++;
      const previous = cache;
      ({ lastLogits, cache } = await decoder.forward(next, mask, stepPositions, B, cache));
      decoder.dispose(previous);
    }
  } finally {
    decoder.dispose(cache);
  }
  return out;
}
