import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

/**
 * tfjs's wasm backend has no `UnsortedSegmentSum`, the kernel behind the gradient of
 * `gather` (an embedding lookup). This one runs in JS over the wasm heap: it is a
 * scatter-add of `rows × width` floats, cheap next to the matmuls around it.
 */
export function registerWasmUnsortedSegmentSum(): void {
  if (tf.getKernel("UnsortedSegmentSum", "wasm")) return;
  tf.registerKernel({
    kernelName: "UnsortedSegmentSum",
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const wasm = backend as BackendWasm;
      const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const numSegments = (attrs as { numSegments: number }).numSegments;
      if (x.dtype !== "float32") throw new Error(`UnsortedSegmentSum (wasm): only float32 is supported, got ${x.dtype}`);
      const rows = segmentIds.shape.reduce((a, b) => a * b, 1);
      const width = x.shape.slice(segmentIds.shape.length).reduce((a, b) => a * b, 1);
      const values = wasm.readSync(x.dataId) as Float32Array;
      const ids = wasm.readSync(segmentIds.dataId) as Int32Array;
      const out = wasm.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], "float32");
      const sums = wasm.typedArrayFromHeap(out) as Float32Array;
      sums.fill(0);
      for (let r = 0; r < rows; r++) {
        const segment = ids[r]!;
        // Out-of-range ids are dropped, as TensorFlow does.
        if (segment < 0 || segment >= numSegments) continue;
        const src = r * width;
        const dst = segment * width;
        for (let k = 0; k < width; k++) sums[dst + k]! += values[src + k]!;
      }
      return out;
    },
  });
}

/**
 * tfjs's wasm BatchMatMul is fast only for one plain row-major product. Measured here:
 * asked to transpose an operand it ran 6–25× slower (x·Wᵀ for 3072×128·128×512 at
 * 2.2 GFLOP/s against 13 for x·W; xᵀ·g at 1.0), and a batch of 128 small products
 * (96×32·32×96, attention's shape) took 8× longer than 128 single calls. Linear layers
 * multiply by Wᵀ in PyTorch's [out, in] layout, attention is batched, and every
 * matmul's gradient uses transposed operands, so this wrapper materialises transposes
 * (a cheap copy) and runs a batch as single products on the fast path.
 */
let originalBatchMatMul: tf.KernelConfig | undefined;

/** Puts tfjs's own wasm BatchMatMul back (benchmarks compare the two in one process). */
export function unregisterWasmFastMatMul(): void {
  if (!originalBatchMatMul) return;
  tf.unregisterKernel("BatchMatMul", "wasm");
  tf.registerKernel(originalBatchMatMul);
  originalBatchMatMul = undefined;
}

export function registerWasmFastMatMul(): void {
  const original = tf.getKernel("BatchMatMul", "wasm");
  const transpose = tf.getKernel("Transpose", "wasm");
  if (!original || !transpose || (original as { ranklabWrapped?: boolean }).ranklabWrapped) return;
  originalBatchMatMul = original;
  tf.unregisterKernel("BatchMatMul", "wasm");
  const wrapped: tf.KernelConfig & { ranklabWrapped: boolean } = {
    ...original,
    ranklabWrapped: true,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const wasm = backend as BackendWasm;
      const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
      const batchA = a.shape.slice(0, -2);
      const batchB = b.shape.slice(0, -2);
      const sizeA = batchA.reduce((x, y) => x * y, 1);
      const sizeB = batchB.reduce((x, y) => x * y, 1);
      const batched = Math.max(sizeA, sizeB) > 1;
      // Broadcasting other than "same batch" or "one side unbatched" keeps the original kernel.
      const simpleBatch = sizeA === 1 || sizeB === 1 || (batchA.length === batchB.length && batchA.every((d, i) => d === batchB[i]));
      if ((!transposeA && !transposeB && !batched) || !simpleBatch || a.dtype !== "float32" || b.dtype !== "float32") {
        return original.kernelFunc({ inputs, backend, attrs });
      }
      const temps: tf.TensorInfo[] = [];
      const swapLastTwo = (x: tf.TensorInfo) => {
        const rank = x.shape.length;
        const perm = [...Array(rank - 2).keys(), rank - 1, rank - 2];
        const y = transpose.kernelFunc({ inputs: { x }, backend, attrs: { perm } }) as tf.TensorInfo;
        temps.push(y);
        return y;
      };
      const plainA = transposeA ? swapLastTwo(a) : a;
      const plainB = transposeB ? swapLastTwo(b) : b;
      const plainAttrs = { ...attrs, transposeA: false, transposeB: false };
      let out: tf.TensorInfo;
      if (!batched) {
        out = original.kernelFunc({ inputs: { a: plainA, b: plainB }, backend, attrs: plainAttrs }) as tf.TensorInfo;
      } else {
        const [m, k] = plainA.shape.slice(-2) as [number, number];
        const n = plainB.shape.at(-1)!;
        const batch = Math.max(sizeA, sizeB);
        out = wasm.makeOutput([...(sizeA >= sizeB ? batchA : batchB), m, n], "float32");
        for (let i = 0; i < batch; i++) {
          // Fresh operands each time: the kernel caches XNNPACK's packed copy of `b` by
          // tensor id, so refilling one buffer would multiply by stale weights. Views are
          // taken after each allocation, which may grow the wasm heap and detach old ones.
          const oneA = wasm.makeOutput([m, k], "float32");
          const oneB = wasm.makeOutput([k, n], "float32");
          const ia = sizeA === 1 ? 0 : i;
          const ib = sizeB === 1 ? 0 : i;
          (wasm.typedArrayFromHeap(oneA) as Float32Array).set((wasm.typedArrayFromHeap(plainA) as Float32Array).subarray(ia * m * k, (ia + 1) * m * k));
          (wasm.typedArrayFromHeap(oneB) as Float32Array).set((wasm.typedArrayFromHeap(plainB) as Float32Array).subarray(ib * k * n, (ib + 1) * k * n));
          const product = original.kernelFunc({ inputs: { a: oneA, b: oneB }, backend, attrs: plainAttrs }) as tf.TensorInfo;
          (wasm.typedArrayFromHeap(out) as Float32Array).set(wasm.typedArrayFromHeap(product) as Float32Array, i * m * n);
          for (const t of [product, oneA, oneB]) wasm.disposeData(t.dataId);
        }
      }
      for (const t of temps) wasm.disposeData(t.dataId);
      return out;
    },
  };
  tf.registerKernel(wrapped);
}
