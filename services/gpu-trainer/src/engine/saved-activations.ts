import type { GraphBuilder } from "../onnx/graph-builder.ts";
import type { ParamSpec } from "../io/weight-store.ts";

type Dims = (string | number)[];

/** A model's training pass as the engines run it: GPT-2's, BERT's classifier and BERT's masked LM alike. */
export interface TrainingGraphs {
  forward: Uint8Array;
  backward: Uint8Array;
  /** Names of the forward graph's saved activations, in order; the backward graph takes them by these names. */
  saved: string[];
  /** Every trained parameter, as the architecture's param specs list them. */
  params: ParamSpec[];
  /** The parameters the backward graph takes as inputs. */
  backwardParams: string[];
}

/**
 * The bookkeeping both training forward graphs (GPT-2's and BERT's) share: `save` makes a
 * value a graph output kept for the backward pass (recording its dims for the backward
 * graph's inputs), and `layerNorm` computes LayerNorm as x̂ = LayerNormalization(x; 1, 0)
 * (whose third output is 1/σ) then x̂·γ + β, saving x̂ and 1/σ, which its backward needs.
 * `keep: false` (a forward-only statistics graph) saves nothing. The constants are named
 * `ones_<suffix>` and `zeros_<suffix>`.
 */
export function activationSaver(f: GraphBuilder, options: { width: number; eps: number; tokens: string; suffix: string; keep?: boolean }) {
  const saved: string[] = [];
  const savedDims = new Map<string, Dims>();
  const ones = f.float(`ones_${options.suffix}`, new Float32Array(options.width).fill(1), [options.width]);
  const zeros = f.float(`zeros_${options.suffix}`, new Float32Array(options.width), [options.width]);
  const save = (value: string, name: string, dims: Dims) => {
    if (options.keep === false) return;
    f.outputInPlace(value, name);
    saved.push(name);
    savedDims.set(name, dims);
  };
  const layerNorm = (prefix: string, x: string, tag: string) => {
    const [xhat, , rstd] = f.op("LayerNormalization", [x, ones, zeros], { axis: -1, epsilon: options.eps }, 3) as [string, string, string];
    save(xhat, `saved.${tag}.xhat`, [options.tokens, options.width]);
    save(rstd, `saved.${tag}.rstd`, [options.tokens, 1]);
    return f.o("Add", [f.o("Mul", [xhat, `${prefix}.weight`]), `${prefix}.bias`]);
  };
  return { saved, savedDims, save, layerNorm };
}
