import type * as ort from "onnxruntime-node";

/**
 * onnxruntime's options for ranklab's sessions. Its intra-op threads spin-wait after
 * each run by default, which is right for a server that only runs ONNX, but here the
 * same cores train with tfjs between rollouts: spinning is turned off so the threads
 * sleep and give the cores back (measured in `npm run bench ppo-step`).
 */
export function ortSessionOptions(options: { threads?: number; spin?: boolean } = {}): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: ["cpu"],
    graphOptimizationLevel: "all",
    ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
    extra: { session: { intra_op: { allow_spinning: options.spin ? "1" : "0" } } },
  };
}
