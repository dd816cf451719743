import * as tf from "@tensorflow/tfjs";
import { UserError } from "../errors.ts";
import type { TensorMap } from "../io/safetensors.ts";

/**
 * A model's parameters by Hugging Face name (`bert.encoder.layer.0.attention.self.query.weight`).
 * Linear weights keep PyTorch's [out, in] layout, so checkpoints load without transposes
 * and matmuls use `transposeB`.
 */
export type Params = Map<string, tf.Variable>;

export interface ParamSpec {
  name: string;
  shape: number[];
  init: "normal" | "zeros" | "ones";
}

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

export interface LoadOptions {
  /** Other names a weight may have in a checkpoint (prefixes, gamma/beta). */
  aliases?: (name: string) => string[];
  /** Weights that may be missing and are then freshly initialised (a new head on a pretrained encoder). */
  mayInit?: (name: string) => boolean;
  seed?: number;
}

/** Copies checkpoint tensors into parameters, checking that every expected name is there with its shape. */
export function paramsFromTensors(specs: ParamSpec[], tensors: TensorMap, source: string, options: LoadOptions = {}): Params {
  const aliases = options.aliases ?? ((n: string) => [n]);
  const params: Params = new Map();
  for (const spec of specs) {
    const found = aliases(spec.name).map((n) => tensors.get(n)).find(Boolean);
    if (!found && options.mayInit?.(spec.name)) {
      for (const [name, v] of initParams([spec], options.seed ?? 0)) params.set(name, v);
      continue;
    }
    if (!found) throw new UserError(`${source}: missing weight ${spec.name}; does config.json match these weights?`);
    if (found.shape.join(",") !== spec.shape.join(",")) {
      throw new UserError(`${source}: ${spec.name} has shape [${found.shape}] but config.json implies [${spec.shape}]`);
    }
    params.set(spec.name, tf.variable(tf.tensor(found.data, found.shape), true, `${spec.name}#${Math.random().toString(36).slice(2)}`));
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
