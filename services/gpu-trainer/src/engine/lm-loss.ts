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

/** Each position's next token where that token is real (the LM targets), 0 elsewhere. */
export function lmTargets(batch: Gpt2Batch): Int32Array {
  const T = batch.ids.length / batch.batch;
  const targets = new Int32Array(batch.ids.length);
  for (let b = 0; b < batch.batch; b++) for (let t = 0; t + 1 < T; t++) if (batch.mask[b * T + t + 1]) targets[b * T + t] = batch.ids[b * T + t + 1]!;
  return targets;
}

/**
 * lmLoss's mean next-token cross-entropy over the real tokens of a right-padded batch,
 * from the engine's log p(target) per position (targets from lmTargets), and its
 * gradient with respect to those log-probabilities: −1/count where the next token is
 * real, 0 elsewhere.
 */
export function lmCrossEntropy(targetLogprobs: Float32Array, batch: Gpt2Batch): { loss: number; dLogprobs: Float32Array } {
  const T = batch.ids.length / batch.batch;
  const dLogprobs = new Float32Array(targetLogprobs.length);
  let count = 0;
  for (let b = 0; b < batch.batch; b++) for (let t = 0; t + 1 < T; t++) count += batch.mask[b * T + t + 1]!;
  let total = 0;
  for (let b = 0; b < batch.batch; b++)
    for (let t = 0; t + 1 < T; t++) {
      if (!batch.mask[b * T + t + 1]) continue;
      total -= targetLogprobs[b * T + t]!;
      dLogprobs[b * T + t] = -1 / count;
    }
  return { loss: total / count, dLogprobs };
}
