import * as tf from "@tensorflow/tfjs";
import type { TensorMap } from "../io/safetensors.ts";
import { storeFromTensors, type ParamSpec, type StoreLoadOptions, type WeightStore } from "../io/weight-store.ts";

/**
 * A model's parameters by Hugging Face name (`bert.encoder.layer.0.attention.self.query.weight`).
 * Linear weights keep PyTorch's [out, in] layout, so checkpoints load without transposes
 * and matmuls use `transposeB`.
 */
export type Params = Map<string, tf.Variable>;

export type { ParamSpec } from "../io/weight-store.ts";

/** Fresh parameters: N(0, std) for weights (BERT and GPT-2 use 0.02), zeros for biases, ones for LayerNorm scales. */
export function initParams(specs: ParamSpec[], seed: number, std = 0.02): Params {
  const params: Params = new Map();
  specs.forEach((spec, i) => {
    const value =
      spec.init === "normal" ? tf.truncatedNormal(spec.shape, 0, std, "float32", seed + i) : spec.init === "zeros" ? tf.zeros(spec.shape) : tf.ones(spec.shape);
    params.set(spec.name, tf.variable(value, true, `${spec.name}#${seed}-${i}-${Math.random().toString(36).slice(2)}`));
    value.dispose();
  });
  return params;
}

export type LoadOptions = StoreLoadOptions;

/**
 * Checkpoint tensors as tfjs variables (the tfjs reference path): the weight store's checks and
 * initialisation (io/weight-store.ts), then one variable per weight.
 */
export function paramsFromTensors(specs: ParamSpec[], tensors: TensorMap, source: string, options: LoadOptions = {}): Params {
  return paramsFromStore(specs, storeFromTensors(specs, tensors, source, options));
}

/** tfjs variables holding a copy of a weight store's arrays: the tfjs engine's model, never the onnxruntime path's. */
export function paramsFromStore(specs: readonly ParamSpec[], store: WeightStore): Params {
  const params: Params = new Map();
  for (const spec of specs) {
    const data = store.get(spec.name);
    if (!data) throw new Error(`no weight ${spec.name} in the store`);
    params.set(spec.name, tf.variable(tf.tensor(data, spec.shape), true, `${spec.name}#${Math.random().toString(36).slice(2)}`));
  }
  return params;
}

export function paramsToTensors(params: Params): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, variable] of params) out.set(name, { shape: variable.shape, data: variable.dataSync() as Float32Array });
  return out;
}

export function disposeParams(params: Params): void {
  for (const v of params.values()) v.dispose();
}

export function get(params: Params, name: string): tf.Variable {
  const p = params.get(name);
  if (!p) throw new Error(`no parameter ${name}`);
  return p;
}
