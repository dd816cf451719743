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
