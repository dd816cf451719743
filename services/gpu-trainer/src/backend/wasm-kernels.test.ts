import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "./select-backend.ts";

/** Plain-JS reference: C[b] = op(A[b]) · op(B[b]), with one side possibly unbatched. */
function reference(a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean): number[] {
  const A = a.arraySync() as number[][][] | number[][];
  const B = b.arraySync() as number[][][] | number[][];
  const as3 = (x: number[][][] | number[][]) => (Array.isArray(x[0]![0]) ? (x as number[][][]) : [x as number[][]]);
  const A3 = as3(A);
  const B3 = as3(B);
  const t = (m: number[][]) => m[0]!.map((_, j) => m.map((row) => row[j]!));
  const out: number[] = [];
  for (let i = 0; i < Math.max(A3.length, B3.length); i++) {
    const x = ta ? t(A3[A3.length === 1 ? 0 : i]!) : A3[A3.length === 1 ? 0 : i]!;
    const y = tb ? t(B3[B3.length === 1 ? 0 : i]!) : B3[B3.length === 1 ? 0 : i]!;
    for (const row of x) for (let j = 0; j < y[0]!.length; j++) out.push(row.reduce((s, v, k) => s + v * y[k]![j]!, 0));
  }
  return out;
}

describe("wasm BatchMatMul wrapper", () => {
  beforeAll(async () => {
    await selectBackend("wasm");
  });

  const cases: [string, number[], number[], boolean, boolean][] = [
    ["plain 2-D", [5, 3], [3, 4], false, false],
    ["x · Wᵀ", [5, 3], [4, 3], false, true],
    ["xᵀ · g", [3, 5], [3, 4], true, false],
    ["both transposed", [3, 5], [4, 3], true, true],
    ["batched", [6, 5, 3], [6, 3, 4], false, false],
    ["batched, b transposed", [6, 5, 3], [6, 4, 3], false, true],
    ["batched a, unbatched b", [6, 5, 3], [1, 3, 4], false, false],
  ];
  for (const [name, sa, sb, ta, tb] of cases) {
    it(`matches a plain-JS product: ${name}`, () => {
      const a = tf.randomNormal(sa, 0, 1, "float32", 1);
      const b = tf.randomNormal(sb, 0, 1, "float32", 2);
      const c = tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, ta, tb);
      const got = [...c.dataSync()];
      const want = reference(a, b, ta, tb);
      expect(got).toHaveLength(want.length);
      got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 4));
      tf.dispose([a, b, c]);
    });
  }

  it("leaves no tensors or heap data behind", () => {
    const a = tf.randomNormal([4, 8, 3]);
    const b = tf.randomNormal([4, 8, 3]);
    const before = tf.memory().numBytes;
    for (let i = 0; i < 5; i++) tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, false, true).dispose();
    expect(tf.memory().numBytes).toBe(before);
    tf.dispose([a, b]);
  });

  it("gives the same gradient as the chain rule by hand for a linear layer", () => {
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const w = tf.tensor2d([
      [1, 0],
      [0, 2],
      [1, 1],
    ]); // [out 3, in 2]
    const grad = tf.grad((wv: tf.Tensor) => tf.sum(tf.matMul(x, wv as tf.Tensor2D, false, true)))(w);
    // d/dW Σ x·Wᵀ = column sums of x, repeated per output row.
    expect(grad.arraySync()).toEqual([
      [4, 6],
      [4, 6],
      [4, 6],
    ]);
  });
});
