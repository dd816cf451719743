import * as tf from "@tensorflow/tfjs";
import { createRequire } from "node:module";
import { registerWasmFastMatMul, registerWasmUnsortedSegmentSum } from "./wasm-kernels.ts";

/**
 * The tfjs backends ranklab trains on, fastest first. The native ones are optional
 * dependencies (they download libtensorflow at install, which fails offline); wasm
 * and cpu install everywhere, and wasm multiplies float32 matrices ~30× faster than
 * cpu on this project's machines.
 */
export const BACKENDS = ["tensorflow-gpu", "tensorflow", "wasm", "cpu"] as const;
export type BackendName = (typeof BACKENDS)[number];

const require = createRequire(import.meta.url);

/** Loads a backend's package; false when it is not installed or cannot load here. */
async function load(name: BackendName): Promise<boolean> {
  try {
    switch (name) {
      case "tensorflow-gpu":
        // tfjs-node-gpu registers itself as "tensorflow" too; only claim it when CUDA sees a device.
        require("@tensorflow/tfjs-node-gpu");
        return true;
      case "tensorflow":
        require("@tensorflow/tfjs-node");
        return true;
      case "wasm":
        await import("@tensorflow/tfjs-backend-wasm");
        return true;
      case "cpu":
        return true;
    }
  } catch {
    return false;
  }
}

export interface BackendChoice {
  name: BackendName;
  tfName: string;
  tried: { name: BackendName; ok: boolean }[];
}

/**
 * Picks and activates the fastest backend present, or `wanted` (the `--backend` flag),
 * which must then load or the call fails naming why.
 * @example const { name } = await selectBackend(); // "wasm" on a machine without libtensorflow
 */
export async function selectBackend(wanted?: BackendName): Promise<BackendChoice> {
  const tried: BackendChoice["tried"] = [];
  const candidates = wanted ? [wanted] : [...BACKENDS];
  for (const name of candidates) {
    const ok = (await load(name)) && (await activate(name));
    tried.push({ name, ok });
    if (ok) {
      if (name === "wasm") {
        registerWasmUnsortedSegmentSum();
        registerWasmFastMatMul();
      }
      return { name, tfName: tf.getBackend(), tried };
    }
  }
  throw new Error(
    wanted
      ? `backend "${wanted}" is not available here (${wanted.startsWith("tensorflow") ? "its package is not installed or libtensorflow is missing" : "it failed to start"}); leave out --backend to pick the fastest present`
      : "no tfjs backend could start",
  );
}

async function activate(name: BackendName): Promise<boolean> {
  const tfName = name === "tensorflow-gpu" ? "tensorflow" : name;
  if (!tf.findBackend(tfName) && !tf.engine().registryFactory[tfName]) return false;
  try {
    if (!(await tf.setBackend(tfName))) return false;
    await tf.ready();
    if (name === "tensorflow-gpu") return gpuVisible();
    return true;
  } catch {
    return false;
  }
}

/** tfjs-node-gpu runs on the CPU when CUDA finds no device; a tiny op placed on GPU:0 tells. */
function gpuVisible(): boolean {
  const binding = (tf.backend() as unknown as { binding?: { isUsingGpuDevice?: () => boolean } }).binding;
  return typeof binding?.isUsingGpuDevice === "function" ? binding.isUsingGpuDevice() : false;
}

export function parseBackendName(value: string): BackendName {
  if ((BACKENDS as readonly string[]).includes(value)) return value as BackendName;
  throw new Error(`unknown backend "${value}"; expected one of: ${BACKENDS.join(", ")}`);
}
