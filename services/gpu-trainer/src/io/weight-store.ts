import { UserError } from "../errors.ts";
import { seededRandom } from "../util/random.ts";
import type { TensorMap } from "./safetensors.ts";

/**
 * A model's parameters, once: Float32Arrays by Hugging Face name, in the layout
 * model.safetensors holds (PyTorch's [out, in] linear weights, GPT-2's [in, out] Conv1D).
 * The trainer owns it: the onnxruntime engine trains these arrays in place, its
 * generation graph reads them as inputs, and checkpoints are written from them; tfjs
 * variables are made from a store only for the tfjs reference path (toTfjsParams).
 */
export type WeightStore = Map<string, Float32Array>;

/** A parameter's Hugging Face name, shape and how a fresh one is initialised. */
export interface ParamSpec {
  name: string;
  shape: number[];
  init: "normal" | "zeros" | "ones";
}

/** Where a missing weight may come from and what other names a checkpoint may give it. */
export interface StoreLoadOptions {
  /** Other names a weight may have in a checkpoint (prefixes, gamma/beta). */
  aliases?: (name: string) => string[];
  /** Weights that may be missing and are then freshly initialised (a new head on a pretrained encoder). */
  mayInit?: (name: string) => boolean;
  seed?: number;
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Fresh weights: N(0, std) truncated at two standard deviations (as PyTorch's and tfjs's
 * truncated normal), zeros for biases, ones for LayerNorm scales; seeded per weight.
 */
export function initWeight(spec: ParamSpec, seed: number, std = 0.02): Float32Array {
  const out = new Float32Array(sizeOf(spec.shape));
  if (spec.init === "ones") return out.fill(1);
  if (spec.init === "zeros") return out;
  const random = seededRandom(seed);
  for (let i = 0; i < out.length; i++) {
    let z: number;
    // Box–Muller, redrawn outside ±2σ.
    do z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    while (Math.abs(z) > 2);
    out[i] = z * std;
  }
  return out;
}

/** A store of fresh weights for `specs` (initWeight, seed + the weight's index). */
export function initStore(specs: readonly ParamSpec[], seed: number, std = 0.02): WeightStore {
  return new Map(specs.map((spec, i) => [spec.name, initWeight(spec, seed + i, std)]));
}

/** A checkpoint's tensors as a store, checking that every expected name is there with its shape. */
export function storeFromTensors(specs: readonly ParamSpec[], tensors: TensorMap, source: string, options: StoreLoadOptions = {}): WeightStore {
  const aliases = options.aliases ?? ((n: string) => [n]);
  const store: WeightStore = new Map();
  specs.forEach((spec, i) => {
    const found = aliases(spec.name)
      .map((n) => tensors.get(n))
      .find(Boolean);
    if (!found && options.mayInit?.(spec.name)) {
      store.set(spec.name, initWeight(spec, (options.seed ?? 0) + i));
      return;
    }
    if (!found) throw new UserError(`${source}: missing weight ${spec.name}; does config.json match these weights?`);
    if (found.shape.join(",") !== spec.shape.join(","))
      throw new UserError(`${source}: ${spec.name} has shape [${found.shape}] but config.json implies [${spec.shape}]`);
    store.set(spec.name, found.data);
  });
  return store;
}

/** The store as safetensors entries (shapes from the specs), for writing a checkpoint. */
export function storeToTensors(specs: readonly ParamSpec[], store: WeightStore): TensorMap {
  const out: TensorMap = new Map();
  for (const spec of specs) {
    const data = store.get(spec.name);
    if (!data || data.length !== sizeOf(spec.shape))
      throw new Error(`weight ${spec.name}: expected ${sizeOf(spec.shape)} values, got ${data?.length ?? "none"}`);
    out.set(spec.name, { shape: spec.shape, data });
  }
  return out;
}
