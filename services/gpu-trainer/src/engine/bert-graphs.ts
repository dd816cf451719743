import { bertParamSpecs, type BertConfig } from "../models/bert.ts";
import type { ParamSpec } from "../models/params.ts";
import { GraphBuilder, onnxActivation } from "../onnx/graph-builder.ts";
import { DataType, type ValueInfo } from "../onnx/proto.ts";
import { activationSaver } from "./saved-activations.ts";
import { activationBackward, attentionBackward, layerNormBackward, sumRows } from "./backward-ops.ts";

/**
 * The BERT/ERNIE encoder and its head (bertForward) as a training forward graph and a
 * hand-written backward graph, the same design as gpt2-graphs.ts:
 * weights are graph inputs, activations are 2-D [B·T, H] so dense layers are Gemms
 * (PyTorch's [out, in] weights: transB in the forward pass; dW = dyᵀ·x and dx = dy·W in
 * the backward), LayerNorm saves x̂ and 1/σ.
 *
 * - forward: input_ids, token_type_ids (and bigram_ids with bigram buckets) [B, T]
 *   int64, attention_bias [B, 1, 1, T] (−1e9 on padding), pool_weights [B, T] (the
 *   head's input is Σ_t w_t·x_t: a one-hot on [CLS] for "cls" pooling, mask / count
 *   for "mean") → outputs [B, num_labels] and `saved.*`;
 * - backward: the same inputs but the bias, the saved activations, the weights and
 *   d_outputs [B, num_labels] → `grad.<name>` for every parameter.
 *
 * With `dropout`, both graphs also take inverted-dropout masks (0 where a unit is
 * dropped, 1/(1 − rate) elsewhere; bertForward's sites, DROPOUT_SITES): the forward pass
 * multiplies by them, the backward pass multiplies each gradient by the same mask. The
 * masks are inputs, drawn by the caller from a seeded generator, so a step is
 * reproducible and the tfjs reference can be given the very same masks.
 */
/** bertForward's dropout sites with their mask shapes ([tokens, H], or [batch, H] for the head). */
export function dropoutSites(config: BertConfig): { site: string; rows: "tokens" | "batch" }[] {
  return [
    { site: "emb", rows: "tokens" },
    ...Array.from({ length: config.num_hidden_layers }, (_, l) => [
      { site: `${l}.attn`, rows: "tokens" as const },
      { site: `${l}.out`, rows: "tokens" as const },
    ]).flat(),
    { site: "head", rows: "batch" },
  ];
}

export interface BertTrainingGraphs {
  forward: Uint8Array;
  backward: Uint8Array;
  saved: string[];
  params: ParamSpec[];
  backwardParams: string[];
}

const F = DataType.FLOAT;

export function bertTrainingGraphs(config: BertConfig, options: { dropout?: boolean } = {}): BertTrainingGraphs {
  const p = config.model_type === "ernie" ? "ernie" : "bert";
  const H = config.hidden_size;
  const heads = config.num_attention_heads;
  const hd = H / heads;
  const I = config.intermediate_size;
  const L = config.num_labels;
  const eps = config.layer_norm_eps;
  const scale = 1 / Math.sqrt(hd);
  const params = bertParamSpecs(config);
  const shapeOf = new Map(params.map((s) => [s.name, s.shape]));
  const N = "tokens";
  const emb = `${p}.embeddings`;
  const idInputs: ValueInfo[] = [
    { name: "input_ids", dataType: DataType.INT64, dims: ["batch", "seq"] },
    { name: "token_type_ids", dataType: DataType.INT64, dims: ["batch", "seq"] },
    ...(config.bigram_buckets > 0 ? [{ name: "bigram_ids", dataType: DataType.INT64, dims: ["batch", "seq"] }] : []),
    { name: "pool_weights", dataType: F, dims: ["batch", "seq"] },
    ...(options.dropout
      ? dropoutSites(config).map(({ site, rows }): ValueInfo => ({ name: `dropout.${site}`, dataType: F, dims: [rows === "tokens" ? N : "batch", H] }))
      : []),
  ];

  // ---------------------------------------------------------------- forward
  const f = new GraphBuilder("ranklab-bert-train-forward");
  const { saved, savedDims, save, layerNorm } = activationSaver(f, { width: H, eps, tokens: N, suffix: "h" });
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
    save(context, `saved.${l}.context`, [N, H]);
    x = layerNorm(`${b}.attention.output.LayerNorm`, f.o("Add", [drop(`${l}.attn`, linear(`${b}.attention.output.dense`, context)), x]), `${l}.attn`);
    const pre = linear(`${b}.intermediate.dense`, x);
    save(pre, `saved.${l}.fc`, [N, I]);
    const act = onnxActivation(f, config.hidden_act, pre);
    save(act, `saved.${l}.act`, [N, I]);
    x = layerNorm(`${b}.output.LayerNorm`, f.o("Add", [drop(`${l}.out`, linear(`${b}.output.dense`, act)), x]), `${l}.out`);
  }

  // 3. Pooling (Σ_t w_t·x_t), the pooler, the head.
  const pooled = f.o("Reshape", [f.o("MatMul", [f.o("Unsqueeze", ["pool_weights", f.ints([1])]), f.o("Reshape", [x, bth])]), f.ints([-1, H])]); // [B, H]
  save(pooled, "saved.pooled", ["batch", H]);
  let first = pooled;
  if (config.add_pooling_layer) {
    first = f.o("Tanh", [linear(`${p}.pooler.dense`, pooled)]);
    save(first, "saved.pooler", ["batch", H]);
  }
  f.outputInPlace(linear("classifier", drop("head", first)), "outputs");
  const forward = f.encode(
    [
      ...idInputs,
      { name: "attention_bias", dataType: F, dims: ["batch", 1, 1, "seq"] },
      ...params.map((s): ValueInfo => ({ name: s.name, dataType: F, dims: s.shape })),
    ],
    [{ name: "outputs", dataType: F, dims: ["batch", L] }, ...saved.map((name): ValueInfo => ({ name, dataType: F, dims: savedDims.get(name)! }))],
  );

  // ---------------------------------------------------------------- backward
  const g = new GraphBuilder("ranklab-bert-train-backward");
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
  const gbth = g.o("Concat", [g.o("Shape", ["input_ids"]), g.ints([H])], { axis: 0 });
  const gbthh = g.o("Concat", [g.o("Shape", ["input_ids"]), g.ints([heads, hd])], { axis: 0 });
  const fromHeads = (t: string) => g.o("Reshape", [g.o("Transpose", [t], { perm: [0, 2, 1, 3] }), g.ints([-1, H])]);
  // The same masks: a dropped unit passes no gradient, a kept one its gradient × 1/(1 − rate).
  const masked = (site: string, t: string) => (options.dropout ? g.o("Mul", [t, `dropout.${site}`]) : t);

  let dFirst = masked("head", linearBack("classifier", masked("head", config.add_pooling_layer ? "saved.pooler" : "saved.pooled"), "d_outputs")); // [B, H]
  if (config.add_pooling_layer) {
    const dPre = g.o("Mul", [dFirst, g.o("Sub", [g.scalar(1), g.o("Mul", ["saved.pooler", "saved.pooler"])])]); // tanh' = 1 − z²
    dFirst = linearBack(`${p}.pooler.dense`, "saved.pooled", dPre);
  }
  // Pooling's backward: dx_t = w_t·d(pooled).
  let dx = g.o("Reshape", [g.o("Mul", [g.o("Unsqueeze", ["pool_weights", g.ints([2])]), g.o("Unsqueeze", [dFirst, g.ints([1])])]), g.ints([-1, H])]); // [N, H]
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
  const scatterInto = (rows: number, index: string, updates: string) =>
    g.o("ScatterND", [g.o("ConstantOfShape", [g.ints([rows, H])]), g.o("Reshape", [index, g.ints([-1, 1])]), updates], { reduction: "add" });
  grad(scatterInto(config.vocab_size, "input_ids", dE), `${emb}.word_embeddings.weight`);
  grad(scatterInto(config.type_vocab_size, "token_type_ids", dE), `${emb}.token_type_embeddings.weight`);
  // Positions 0..T−1 in every row: the batch's sum per position, into the table's first T rows.
  const seqLen = g.o("Gather", [g.o("Shape", ["input_ids"]), g.ints([1], [])], { axis: 0 });
  grad(
    scatterInto(
      config.max_position_embeddings,
      g.o("Range", [g.ints([0], []), seqLen, g.ints([1], [])]),
      g.o("ReduceSum", [g.o("Reshape", [dE, gbth]), g.ints([0])], { keepdims: 0 }),
    ),
    `${emb}.position_embeddings.weight`,
  );
  if (config.use_task_id)
    grad(scatterInto(config.task_type_vocab_size, g.ints([0]), g.o("ReduceSum", [dE, g.ints([0])], { keepdims: 1 })), `${emb}.task_type_embeddings.weight`);
  if (config.bigram_buckets > 0) grad(scatterInto(config.bigram_buckets, "bigram_ids", dE), `${emb}.bigram_embeddings.weight`);

  const missing = params.filter((s) => !grads.has(s.name));
  if (missing.length > 0) throw new Error(`backward graph lacks gradients for ${missing.map((s) => s.name).join(", ")}`);
  const backwardParams = params.map((s) => s.name).filter((n) => used.has(n));
  const backward = g.encode(
    [
      ...idInputs,
      { name: "d_outputs", dataType: F, dims: ["batch", L] },
      ...backwardParams.map((name): ValueInfo => ({ name, dataType: F, dims: shapeOf.get(name)! })),
      ...saved.map((name): ValueInfo => ({ name, dataType: F, dims: savedDims.get(name)! })),
    ],
    params.map((s): ValueInfo => ({ name: `grad.${s.name}`, dataType: F, dims: s.shape })),
  );
  return { forward, backward, saved, params, backwardParams };
}
