import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as ort from "onnxruntime-node";
import { UserError } from "../errors.ts";

/**
 * Where onnxruntime runs ranklab's graphs: the CPU, or an NVIDIA GPU through
 * onnxruntime-node's CUDA execution provider. The CUDA provider is not in the npm
 * package (too large for the registry): `ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci` fetches it
 * on a machine with CUDA 12 (the container does). One setting for the process, like
 * tfjs's backend (backend/select-backend.ts): the config's `device`, or `--device`.
 */
export const DEVICES = ["cpu", "cuda"] as const;
export type Device = (typeof DEVICES)[number];

let current: Device = "cpu";

/** The folder of onnxruntime-node's native binding, where the provider libraries sit beside it. */
function bindingDir(): string | undefined {
  const root = dirname(dirname(createRequire(import.meta.url).resolve("onnxruntime-node")));
  const dir = join(root, "bin", `napi-v${process.versions.napi ?? "6"}`, process.platform, process.arch);
  if (existsSync(dir)) return dir;
  const napi = existsSync(join(root, "bin")) ? readdirSync(join(root, "bin")).find((d) => d.startsWith("napi-v")) : undefined;
  return napi ? join(root, "bin", napi, process.platform, process.arch) : undefined;
}

/** Whether onnxruntime-node's CUDA provider library is installed. */
export function cudaProviderInstalled(): boolean {
  const dir = bindingDir();
  return dir !== undefined && existsSync(dir) && readdirSync(dir).some((f) => f.startsWith("libonnxruntime_providers_cuda"));
}

const CUDA_HINT =
  "onnxruntime-node's CUDA provider is not installed here (it is not in the npm package): on a machine with an NVIDIA GPU and CUDA 12, " +
  "reinstall with `ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci` (the container image does), or use device cpu";

/** Sets the device every later session runs on; `cuda` fails at once, with the fix, where its provider is missing. */
export function useOrtDevice(device: Device, options: { check?: boolean } = {}): void {
  if (!(DEVICES as readonly string[]).includes(device)) throw new UserError(`device must be one of ${DEVICES.join(", ")}, got "${device}"`);
  if (device === "cuda" && options.check !== false && !cudaProviderInstalled()) throw new UserError(`device cuda: ${CUDA_HINT}`);
  current = device;
}

export const ortDevice = (): Device => current;

/** The execution providers for the current device: CUDA first with the CPU behind it for ops CUDA lacks. */
export const executionProviders = (): ("cuda" | "cpu")[] => (current === "cuda" ? ["cuda", "cpu"] : ["cpu"]);

/** An onnxruntime session; a failure on CUDA says which device was asked for and how to get its provider. */
export async function createOrtSession(model: string | Uint8Array, options: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  try {
    return typeof model === "string" ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
  } catch (err) {
    const providers = (options.executionProviders ?? []).map((p) => (typeof p === "string" ? p : p.name));
    if (providers.includes("cuda"))
      throw new UserError(`device cuda: onnxruntime could not start a session (${err instanceof Error ? err.message : String(err)}); ${CUDA_HINT}`);
    throw err;
  }
}
