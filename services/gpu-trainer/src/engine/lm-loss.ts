import type { Gpt2Batch } from "./gpt2-engine.ts";

/** Right-padded rows as a batch, with positions 0, 1, … on each row: what lmLoss feeds tfjs. */
export function lmBatch(rows: readonly (readonly number[])[], pad: number): Gpt2Batch {
  const B = rows.length;
  const T = Math.max(...rows.map((r) => r.length));
  const ids = new Int32Array(B * T).fill(pad);
  const mask = new Int32Array(B * T);
  const positions = new Int32Array(B * T);
  rows.forEach((r, b) =>
    r.forEach((t, i) => {
      ids[b * T + i] = t;
      mask[b * T + i] = 1;
      positions[b * T + i] = i;
    }),
  );
  return { ids, mask, positions, batch: B };
}

/**
 * lmLoss's mean next-token cross-entropy over the real tokens of a right-padded batch,
 * and its gradient with respect to the logits, written over `logits` in place
 * ([B·T, vocab]; no second copy of the largest tensor): (softmax − one-hot(next)) / count
 * where the next token is real, 0 elsewhere.
 */
export function lmCrossEntropy(logits: Float32Array, batch: Gpt2Batch, vocab: number): number {
  const B = batch.batch;
  const T = batch.ids.length / B;
  let count = 0;
  for (let b = 0; b < B; b++) for (let t = 1; t < T; t++) count += batch.mask[b * T + t]!;
  let total = 0;
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) {
      const row = logits.subarray((b * T + t) * vocab, (b * T + t + 1) * vocab);
      if (t === T - 1 || batch.mask[b * T + t + 1] === 0) {
        row.fill(0);
        continue;
      }
      let max = -Infinity;
      for (let i = 0; i < vocab; i++) if (row[i]! > max) max = row[i]!;
      let sum = 0;
      for (let i = 0; i < vocab; i++) sum += Math.exp(row[i]! - max);
      const target = batch.ids[b * T + t + 1]!;
      total += Math.log(sum) + max - row[target]!;
      const scale = 1 / (sum * count);
      for (let i = 0; i < vocab; i++) row[i] = Math.exp(row[i]! - max) * scale;
      row[target]! -= 1 / count;
    }
  return total / count;
}
