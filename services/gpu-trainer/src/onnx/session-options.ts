import type * as ort from "onnxruntime-node";
import { executionProviders } from "./device.ts";

/**
 * onnxruntime's options for ranklab's sessions. Its intra-op threads spin-wait after
 * each run by default, which is right for a server that only runs ONNX, but here the
 * same cores train with tfjs between rollouts: spinning is turned off so the threads
 * sleep and give the cores back (measured in `npm run bench ppo-step`). The execution
 * providers follow the process's device (onnx/device.ts).
 */
export function ortSessionOptions(options: { threads?: number; spin?: boolean } = {}): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: executionProviders(),
    graphOptimizationLevel: "all",
    ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
    extra: { session: { intra_op: { allow_spinning: options.spin ? "1" : "0" } } },
  };
}
