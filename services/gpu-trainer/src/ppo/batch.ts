/**
 * Query + response rows packed for one forward pass: right-padded to the longest row,
 * positions from 0. In the [B, T − 1] frame of next-token predictions, column t
 * predicts token t + 1, so `responseMask[b][t]` is 1 where token t + 1 is a response
 * token — the log-probabilities, values and rewards PPO works on.
 */
export interface PackedBatch {
  batch: number;
  length: number;
  ids: Int32Array;
  attention: Int32Array;
  positions: Int32Array;
  responseMask: number[][];
}

export function packBatch(queries: readonly (readonly number[])[], responses: readonly (readonly number[])[], pad: number): PackedBatch {
  if (queries.length !== responses.length) throw new Error(`packBatch: ${queries.length} queries but ${responses.length} responses`);
  const B = queries.length;
  const T = Math.max(...queries.map((q, i) => q.length + responses[i]!.length));
  const ids = new Int32Array(B * T).fill(pad);
  const attention = new Int32Array(B * T);
  const positions = new Int32Array(B * T);
  const responseMask: number[][] = [];
  for (let b = 0; b < B; b++) {
    const q = queries[b]!;
    const r = responses[b]!;
    if (q.length === 0) throw new Error(`packBatch: query ${b} is empty (it needs at least [CLS])`);
    if (r.length === 0) throw new Error(`packBatch: response ${b} is empty`);
    [...q, ...r].forEach((token, t) => {
      ids[b * T + t] = token;
      attention[b * T + t] = 1;
      positions[b * T + t] = t;
    });
    responseMask.push(Array.from({ length: T - 1 }, (_, t) => (t + 1 >= q.length && t + 1 < q.length + r.length ? 1 : 0)));
  }
  return { batch: B, length: T, ids, attention, positions, responseMask };
}

/** Rows `indices` of a packed batch (a PPO minibatch), trimmed to its own longest row. */
export function selectRows(packed: PackedBatch, indices: readonly number[]): PackedBatch {
  const T = packed.length;
  const rows = indices.map((i) => packed.attention.subarray(i * T, (i + 1) * T).reduce((a, b) => a + b, 0));
  const L = Math.max(...rows);
  const take = (src: Int32Array, fill: number) => {
    const out = new Int32Array(indices.length * L).fill(fill);
    indices.forEach((i, k) => out.set(src.subarray(i * T, i * T + L), k * L));
    return out;
  };
  return {
    batch: indices.length,
    length: L,
    ids: take(packed.ids, 0),
    attention: take(packed.attention, 0),
    positions: take(packed.positions, 0),
    responseMask: indices.map((i) => packed.responseMask[i]!.slice(0, L - 1)),
  };
}

/** Columns of a [B][T − 1] matrix for `indices`, trimmed to `width`. */
export function selectMatrix(m: readonly number[][], indices: readonly number[], width: number): number[][] {
  return indices.map((i) => m[i]!.slice(0, width));
}
