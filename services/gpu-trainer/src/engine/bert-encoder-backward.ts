import type { BertConfig } from "../models/bert.ts";
import type { ParamSpec } from "../models/params.ts";
import type { GraphBuilder } from "../onnx/graph-builder.ts";
import { DataType, type ValueInfo } from "../onnx/proto.ts";
import { activationBackward, attentionBackward, layerNormBackward, sumRows } from "./backward-ops.ts";
import { bertPrefix } from "./bert-forward-graph.ts";

/**
 * The backward half of the BERT/ERNIE encoder's training graphs (bert-forward-graph.ts
 * is the forward half), shared by the heads that train it: the classifier (bert-graphs.ts,
 * the reward model) and the masked-LM head (bert-mlm-graphs.ts, pretraining). It reads the
 * forward graph's `saved.*` activations: dense layers' dW = dyᵀ·x and dx = dy·W (PyTorch's
 * [out, in] weights), LayerNorm's from x̂ and 1/σ.
 */
const F = DataType.FLOAT;

/**
 * A backward graph's bookkeeping: `w` marks a weight the graph reads (an input), `grad`
 * makes a value the output `grad.<name>`, and the backward of the layers every head shares.
 */
export function backwardContext(g: GraphBuilder) {
  const used = new Set<string>();
  const w = (name: string) => {
    used.add(name);
    return name;
  };
  const grads = new Set<string>();
  const grad = (value: string, name: string) => {
    g.outputInPlace(value, `grad.${name}`);
    grads.add(name);
  };
  /** LayerNorm's output recomputed from the saved x̂: x̂·γ + β. */
  const normed = (prefix: string, tag: string) => g.o("Add", [g.o("Mul", [`saved.${tag}.xhat`, w(`${prefix}.weight`)]), w(`${prefix}.bias`)]);
  const layerNormBack = (prefix: string, tag: string, dy: string) => {
    const r = layerNormBackward(g, dy, `saved.${tag}.xhat`, `saved.${tag}.rstd`, w(`${prefix}.weight`));
    grad(r.dGamma, `${prefix}.weight`);
    grad(r.dBeta, `${prefix}.bias`);
    return r.dx;
  };
  /** y = x·Wᵀ + b with W [out, in]: dW = dyᵀ·x, db = Σ dy; returns dx = dy·W. */
  const linearBack = (prefix: string, x: string, dy: string) => {
    grad(g.o("Gemm", [dy, x], { transA: 1 }), `${prefix}.weight`);
    grad(sumRows(g, dy), `${prefix}.bias`);
    return g.o("Gemm", [dy, w(`${prefix}.weight`)]);
  };
  /** Rows of `updates` [n, H] added into a fresh [rows, H] table at `index` (repeated rows adding up). */
  const scatterInto = (rows: number, width: number, index: string, updates: string) =>
    g.o("ScatterND", [g.o("ConstantOfShape", [g.ints([rows, width])]), g.o("Reshape", [index, g.ints([-1, 1])]), updates], { reduction: "add" });
  return { used, w, grads, grad, normed, layerNormBack, linearBack, scatterInto };
}

export type BackwardContext = ReturnType<typeof backwardContext>;

/**
 * The encoder's backward pass into `g` from dL/dx [tokens, H] (x: encoderForward's last
 * hidden states): every encoder parameter's `grad.*` but the word embeddings', whose
 * gradient the caller forms from the returned dE [tokens, H] (the rows input_ids gathered),
 * because a head tied to the word embeddings adds its own rows to the same table.
 */
export function encoderBackward(g: GraphBuilder, config: BertConfig, ctx: BackwardContext, dx: string, options: { dropout: boolean }): string {
  const p = bertPrefix(config);
  const H = config.hidden_size;
  const heads = config.num_attention_heads;
  const hd = H / heads;
  const scale = 1 / Math.sqrt(hd);
  const emb = `${p}.embeddings`;
  const { grad, normed, layerNormBack, linearBack, scatterInto } = ctx;
  const gbth = g.o("Concat", [g.o("Shape", ["input_ids"]), g.ints([H])], { axis: 0 });
  const gbthh = g.o("Concat", [g.o("Shape", ["input_ids"]), g.ints([heads, hd])], { axis: 0 });
  const fromHeads = (t: string) => g.o("Reshape", [g.o("Transpose", [t], { perm: [0, 2, 1, 3] }), g.ints([-1, H])]);
  // The same masks: a dropped unit passes no gradient, a kept one its gradient × 1/(1 − rate).
  const masked = (site: string, t: string) => (options.dropout ? g.o("Mul", [t, `dropout.${site}`]) : t);

  for (let l = config.num_hidden_layers - 1; l >= 0; l--) {
    const b = `${p}.encoder.layer.${l}`;
    const input = l === 0 ? masked("emb", normed(`${emb}.LayerNorm`, "emb")) : normed(`${p}.encoder.layer.${l - 1}.output.LayerNorm`, `${l - 1}.out`);
    const attnOut = normed(`${b}.attention.output.LayerNorm`, `${l}.attn`);
    // x = LN(dense(act(dense(a))) + a), a = LN(dense(attention(x_in)) + x_in).
    const dY2 = layerNormBack(`${b}.output.LayerNorm`, `${l}.out`, dx);
    const dPre = activationBackward(g, config.hidden_act, `saved.${l}.fc`, linearBack(`${b}.output.dense`, `saved.${l}.act`, masked(`${l}.out`, dY2)));
    const dA = g.o("Add", [dY2, linearBack(`${b}.intermediate.dense`, attnOut, dPre)]);
    const dY1 = layerNormBack(`${b}.attention.output.LayerNorm`, `${l}.attn`, dA);
    const dContext = g.o("Transpose", [g.o("Reshape", [linearBack(`${b}.attention.output.dense`, `saved.${l}.context`, masked(`${l}.attn`, dY1)), gbthh])], {
      perm: [0, 2, 1, 3],
    });
    const { dQ, dK, dV } = attentionBackward(g, { q: `saved.${l}.q`, k: `saved.${l}.k`, v: `saved.${l}.v`, probs: `saved.${l}.probs` }, dContext, scale);
    const dIn = [
      ["query", dQ],
      ["key", dK],
      ["value", dV],
    ].map(([n, d]) => linearBack(`${b}.attention.self.${n}`, input, fromHeads(d!)));
    dx = g.o("Sum", [dY1, ...dIn]);
  }
  const dE = layerNormBack(`${emb}.LayerNorm`, "emb", masked("emb", dx)); // [N, H]
  grad(scatterInto(config.type_vocab_size, H, "token_type_ids", dE), `${emb}.token_type_embeddings.weight`);
  // Positions 0..T−1 in every row: the batch's sum per position, into the table's first T rows.
  const seqLen = g.o("Gather", [g.o("Shape", ["input_ids"]), g.ints([1], [])], { axis: 0 });
  grad(
    scatterInto(
      config.max_position_embeddings,
      H,
      g.o("Range", [g.ints([0], []), seqLen, g.ints([1], [])]),
      g.o("ReduceSum", [g.o("Reshape", [dE, gbth]), g.ints([0])], { keepdims: 0 }),
    ),
    `${emb}.position_embeddings.weight`,
  );
  if (config.use_task_id)
    grad(scatterInto(config.task_type_vocab_size, H, g.ints([0]), g.o("ReduceSum", [dE, g.ints([0])], { keepdims: 1 })), `${emb}.task_type_embeddings.weight`);
  if (config.bigram_buckets > 0) grad(scatterInto(config.bigram_buckets, H, "bigram_ids", dE), `${emb}.bigram_embeddings.weight`);
  return dE;
}

/** Throws when the backward graph lacks a gradient; returns the parameters it reads, in spec order. */
export function checkBackward(params: readonly ParamSpec[], ctx: BackwardContext): string[] {
  const missing = params.filter((s) => !ctx.grads.has(s.name));
  if (missing.length > 0) throw new Error(`backward graph lacks gradients for ${missing.map((s) => s.name).join(", ")}`);
  return params.map((s) => s.name).filter((n) => ctx.used.has(n));
}

/** A graph's float inputs for `names` (weights or saved activations) with their dims. */
export const floatInputs = (names: readonly string[], dimsOf: (name: string) => (string | number)[]): ValueInfo[] =>
  names.map((name): ValueInfo => ({ name, dataType: F, dims: dimsOf(name) }));
