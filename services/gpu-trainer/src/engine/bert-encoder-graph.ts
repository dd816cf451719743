import { bertParamSpecs, type BertConfig } from "../models/bert.ts";
import type { ParamSpec } from "../models/params.ts";
import { type GraphBuilder, onnxActivation } from "../onnx/graph-builder.ts";
import { DataType, type ValueInfo } from "../onnx/proto.ts";
import { activationSaver } from "./saved-activations.ts";
import { activationBackward, attentionBackward, layerNormBackward, sumRows } from "./backward-ops.ts";

/**
 * The BERT/ERNIE encoder (bertEncode: embeddings and post-LayerNorm blocks, no head) as
 * the forward half and the backward half of a training graph, shared by the heads that
 * train it: the classifier (bert-graphs.ts, the reward model) and the masked-LM head
 * (bert-mlm-graphs.ts, pretraining). Activations are 2-D [B·T, H] ("tokens" rows) so
 * dense layers are Gemms with PyTorch's [out, in] weights (transB forward; dW = dyᵀ·x and
 * dx = dy·W backward); LayerNorm saves x̂ and 1/σ.
 */
const F = DataType.FLOAT;
export const TOKENS = "tokens";

export const bertPrefix = (config: BertConfig) => (config.model_type === "ernie" ? "ernie" : "bert");

/** The encoder's parameters: bertParamSpecs without the pooler and the classifier. */
export function bertEncoderSpecs(config: BertConfig): ParamSpec[] {
  const p = bertPrefix(config);
  return bertParamSpecs(config).filter((s) => s.name.startsWith(`${p}.`) && !s.name.includes(".pooler."));
}

/** bertEncode's dropout sites, each mask [tokens, H]: after the embeddings' LayerNorm, on each block's attention and feed-forward outputs. */
export function encoderDropoutSites(config: BertConfig): string[] {
  return ["emb", ...Array.from({ length: config.num_hidden_layers }, (_, l) => [`${l}.attn`, `${l}.out`]).flat()];
}

/** The encoder's id inputs [B, T] int64 (bigram_ids with bigram buckets) and, with dropout, its masks [tokens, H]. */
export function encoderInputs(config: BertConfig, dropout: boolean): ValueInfo[] {
  return [
    { name: "input_ids", dataType: DataType.INT64, dims: ["batch", "seq"] },
    { name: "token_type_ids", dataType: DataType.INT64, dims: ["batch", "seq"] },
    ...(config.bigram_buckets > 0 ? [{ name: "bigram_ids", dataType: DataType.INT64, dims: ["batch", "seq"] }] : []),
    ...(dropout ? encoderDropoutSites(config).map((site): ValueInfo => ({ name: `dropout.${site}`, dataType: F, dims: [TOKENS, config.hidden_size] })) : []),
  ];
}

/**
 * The encoder's forward pass into `f`: reads input_ids, token_type_ids (bigram_ids),
 * attention_bias [B, 1, 1, T] and the weights by Hugging Face name; returns the last
 * hidden states x [tokens, H] and the saver whose `saved.*` outputs the backward half reads.
 * With `dropout`, multiplies by the mask inputs `dropout.<site>` (inverted dropout).
 */
export function encoderForward(f: GraphBuilder, config: BertConfig, options: { dropout: boolean }) {
  const p = bertPrefix(config);
  const H = config.hidden_size;
  const heads = config.num_attention_heads;
  const hd = H / heads;
  const I = config.intermediate_size;
  const scale = 1 / Math.sqrt(hd);
  const emb = `${p}.embeddings`;
  const saver = activationSaver(f, { width: H, eps: config.layer_norm_eps, tokens: TOKENS, suffix: "h" });
  const { save, layerNorm } = saver;
  const linear = (prefix: string, x: string) => f.o("Gemm", [x, `${prefix}.weight`, `${prefix}.bias`], { transB: 1 });
  const flat = (t: string) => f.o("Reshape", [t, f.ints([-1])]);
  const bth = f.o("Concat", [f.o("Shape", ["input_ids"]), f.ints([H])], { axis: 0 }); // [B, T, H]
  const bthh = f.o("Concat", [f.o("Shape", ["input_ids"]), f.ints([heads, hd])], { axis: 0 }); // [B, T, h, hd]
  const positions = f.o("Range", [f.ints([0], []), f.o("Gather", [f.o("Shape", ["input_ids"]), f.ints([1], [])], { axis: 0 }), f.ints([1], [])]); // [T]

  // 1. Embeddings, in bertEncode's order: (words + positions) + types (+ task 0) (+ bigrams), then LayerNorm.
  const words = f.o("Reshape", [f.o("Gather", [`${emb}.word_embeddings.weight`, flat("input_ids")]), bth]);
  let e = f.o("Add", [
    f.o("Add", [words, f.o("Gather", [`${emb}.position_embeddings.weight`, positions])]),
    f.o("Reshape", [f.o("Gather", [`${emb}.token_type_embeddings.weight`, flat("token_type_ids")]), bth]),
  ]);
  if (config.use_task_id) e = f.o("Add", [e, f.o("Gather", [`${emb}.task_type_embeddings.weight`, f.ints([0], [])], { axis: 0 })]);
  if (config.bigram_buckets > 0) e = f.o("Add", [e, f.o("Reshape", [f.o("Gather", [`${emb}.bigram_embeddings.weight`, flat("bigram_ids")]), bth])]);
  // Inverted dropout at a site: × its mask input; none without dropout.
  const drop = (site: string, t: string) => (options.dropout ? f.o("Mul", [t, `dropout.${site}`]) : t);
  let x = drop("emb", layerNorm(`${emb}.LayerNorm`, f.o("Reshape", [e, f.ints([-1, H])]), "emb"));

  // 2. Post-LayerNorm blocks.
  const headDims = ["batch", heads, "seq", hd];
  const toHeads = (t: string) => f.o("Transpose", [f.o("Reshape", [t, bthh])], { perm: [0, 2, 1, 3] });
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const b = `${p}.encoder.layer.${l}`;
    const [q, k, v] = ["query", "key", "value"].map((n) => toHeads(linear(`${b}.attention.self.${n}`, x))) as [string, string, string];
    save(q, `saved.${l}.q`, headDims);
    save(k, `saved.${l}.k`, headDims);
    save(v, `saved.${l}.v`, headDims);
    const probs = f.o(
      "Softmax",
      [f.o("Add", [f.o("Mul", [f.o("MatMul", [q, f.o("Transpose", [k], { perm: [0, 1, 3, 2] })]), f.scalar(scale)]), "attention_bias"])],
      { axis: -1 },
    );
    save(probs, `saved.${l}.probs`, ["batch", heads, "seq", "seq"]);
    const context = f.o("Reshape", [f.o("Transpose", [f.o("MatMul", [probs, v])], { perm: [0, 2, 1, 3] }), f.ints([-1, H])]);
    save(context, `saved.${l}.context`, [TOKENS, H]);
    x = layerNorm(`${b}.attention.output.LayerNorm`, f.o("Add", [drop(`${l}.attn`, linear(`${b}.attention.output.dense`, context)), x]), `${l}.attn`);
    const pre = linear(`${b}.intermediate.dense`, x);
    save(pre, `saved.${l}.fc`, [TOKENS, I]);
    const act = onnxActivation(f, config.hidden_act, pre);
    save(act, `saved.${l}.act`, [TOKENS, I]);
    x = layerNorm(`${b}.output.LayerNorm`, f.o("Add", [drop(`${l}.out`, linear(`${b}.output.dense`, act)), x]), `${l}.out`);
  }
  return { x, bth, linear, drop, ...saver };
}

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
