import type { Gpt2Config } from "../models/gpt2.ts";
import { gpt2AttentionScale, gpt2ParamSpecs } from "../models/gpt2.ts";
import { GraphBuilder, onnxActivation } from "../onnx/graph-builder.ts";
import { activationSaver, type TrainingGraphs } from "./saved-activations.ts";
import { activationBackward, attentionBackward, layerNormBackward, sumRows } from "./backward-ops.ts";
import { DataType, type ValueInfo } from "../onnx/proto.ts";

// GPT-2's ONNX graphs, all from one forward pass (writeGpt2Forward): the decoder with its key/value cache
// (generation, the scorer, model.onnx: gpt2DecoderGraph), the training forward that saves activations and its
// hand-written backward (gpt2TrainingGraphs), and the rollout statistics forward (gpt2StatsGraph).

/**
 * GPT-2's training pass as two ONNX graphs, written block by block as llm.c writes its
 * backward passes, with every weight a graph input (so an optimiser step updates the
 * Float32Arrays that the input tensors wrap, with no re-export):
 *
 * - forward: input_ids, position_ids, targets [B, T] int64 and attention_bias
 *   [B, 1, T, T] → target_logprobs [B·T, 1] (log p of each position's target token),
 *   values [B·T, 1] (with the value head), and the activations the backward pass reads
 *   (`saved.*`, the softmax over the vocabulary among them);
 * - backward: the same ids and targets, the saved activations, the weights it multiplies
 *   by, and the loss's gradients dlogprobs [B·T, 1] (dL/d target_logprobs) and dvalues
 *   [B·T, 1] → `grad.<name>` for every parameter but the embeddings and the LM head,
 *   whose gradients are head_grad [vocab, d] plus rows to scatter-add (head_rows_grad at
 *   the targets, embed_rows_grad at the tokens and positions; OnnxGpt2Engine.backward
 *   does it). dL/d logits = dlogprobs · (one-hot(target) − softmax) is applied in the
 *   graph without being formed.
 *
 * The losses that train GPT-2 here (language modelling, PPO's clipped policy and value
 * losses) depend on the logits only through the target tokens' log-probabilities, so the
 * loss and its per-token gradient are computed in TypeScript between the two runs (see
 * lm-loss.ts), and the O(B·T·vocab) softmax stays in onnxruntime. Activations stay 2-D ([B·T, width]) so every
 * dense layer is one Gemm, whose transA/transB flags give the weight gradients
 * (xᵀ·dy) and input gradients (dy·Wᵀ) without a Transpose node.
 */
export type Gpt2TrainingGraphs = TrainingGraphs;

const F = DataType.FLOAT;

/** The LM head's weight: the tied embedding, or lm_head. */
const gpt2HeadName = (config: Gpt2Config) => (config.tie_word_embeddings ? "transformer.wte.weight" : "lm_head.weight");

/** What GPT-2's forward graphs differ in; the architecture itself is written once, in writeGpt2Forward. */
interface Gpt2ForwardOptions {
  /** The graph value holding a weight, by Hugging Face name: a graph input, or an initializer made once (model.onnx). */
  weight: (name: string) => string;
  valueHead: boolean;
  /**
   * Training: returns the activations the backward graph reads (`saved.*`, saved-activations.ts), LayerNorm as
   * x̂·γ + β. The saver reads the LayerNorm weights by their names, so the weights must be graph inputs.
   * Without it nothing is saved and LayerNorm runs as one fused LayerNormalization (stats, decoder).
   */
  saver?: ReturnType<typeof activationSaver>;
  /**
   * The decoder's key/value cache: each layer's keys and values follow past_key.L / past_value.L
   * [B, h, past, hd] and are returned as present_key.L / present_value.L [B, h, past + new, hd].
   */
  cache?: boolean;
}

/**
 * GPT-2's forward pass (models/gpt2.ts gpt2Forward, the tfjs reference) written into `g`,
 * the one place its blocks are spelled out: embeddings → blocks (ln_1, c_attn, attention,
 * c_proj, ln_2, MLP with the config's activation) → ln_f → the tied or untied LM head →
 * the optional value head. Reads input_ids and position_ids [B, T] int64 and
 * attention_bias [B, 1, T, past + T] (0 where allowed, −1e9 where not). Activations are
 * 2-D rows [N = B·T, width] (but in the decoder: see `rows`), so every dense layer is one
 * Gemm (the backward graph's weight and input gradients are Gemms with transA/transB over
 * the same rows).
 * Returns the names of the logits [N, V] and (with the value head) the values [N, 1].
 */
function writeGpt2Forward(g: GraphBuilder, config: Gpt2Config, options: Gpt2ForwardOptions) {
  const d = config.n_embd;
  const heads = config.n_head;
  const hd = d / heads;
  const inner = config.n_inner ?? 4 * d;
  const N = "tokens";
  const { weight: w, saver, cache } = options;
  const save = (value: string, name: string, dims: (string | number)[]) => saver?.save(value, name, dims);
  const layerNorm = (prefix: string, x: string, tag: string) =>
    saver
      ? saver.layerNorm(prefix, x, tag)
      : g.o("LayerNormalization", [x, w(`${prefix}.weight`), w(`${prefix}.bias`)], { axis: -1, epsilon: config.layer_norm_epsilon });
  // Activations are 2-D rows [N, width] (training's backward Gemms read them so; the stats graph measured no faster
  // otherwise) but in the decoder, which keeps them [B, T, width]: there onnxruntime fuses each residual Add into the
  // next LayerNorm (SkipLayerNormalization, which it fuses on 3-D inputs only) and a bias into the GELU after it,
  // as it did for the decoder written apart before. The shapes in the comments below are the rows'.
  const rows = !cache;
  if (saver && !rows) throw new Error("GPT-2 forward: saved activations are rows; the decoder's cache saves nothing");
  // Conv1D weights are [in, out], as Gemm and MatMul take them.
  const dense = (prefix: string, x: string) =>
    rows ? g.o("Gemm", [x, w(`${prefix}.weight`), w(`${prefix}.bias`)]) : g.o("Add", [g.o("MatMul", [x, w(`${prefix}.weight`)]), w(`${prefix}.bias`)]);

  // 1. Embeddings.  [N, d]
  const ids = rows ? g.o("Reshape", ["input_ids", g.ints([-1])]) : "input_ids";
  const pos = rows ? g.o("Reshape", ["position_ids", g.ints([-1])]) : "position_ids";
  let x = g.o("Add", [g.o("Gather", [w("transformer.wte.weight"), ids]), g.o("Gather", [w("transformer.wpe.weight"), pos])]);

  // 2. Blocks: x += attention(ln_1(x)); x += mlp(ln_2(x)).
  // [B, T, 3, h, hd]; a constant where B and T come from [B, T, 3d] (0 copies a dim), so onnxruntime infers every
  // shape down to the residual Adds, which its SkipLayerNormalization fusion needs.
  const qkvShape = rows ? g.o("Concat", [g.o("Shape", ["input_ids"]), g.ints([3, heads, hd])], { axis: 0 }) : g.ints([0, 0, 3, heads, hd]);
  const headDims = ["batch", heads, "seq", hd];
  for (let l = 0; l < config.n_layer; l++) {
    const b = `transformer.h.${l}`;
    const qkv = dense(`${b}.attn.c_attn`, layerNorm(`${b}.ln_1`, x, `${l}.ln_1`)); // [N, 3d]
    const stacked = g.o("Transpose", [g.o("Reshape", [qkv, qkvShape])], { perm: [2, 0, 3, 1, 4] }); // [3, B, h, T, hd]
    const [q, k, v] = [0, 1, 2].map((i) => g.o("Gather", [stacked, g.ints([i], [])], { axis: 0 })) as [string, string, string];
    save(q, `saved.${l}.q`, headDims);
    save(k, `saved.${l}.k`, headDims);
    save(v, `saved.${l}.v`, headDims);
    let [key, value] = [k, v];
    if (cache) {
      key = g.o("Concat", [`past_key.${l}`, k], { axis: 2 }); // [B, h, past + T, hd]
      value = g.o("Concat", [`past_value.${l}`, v], { axis: 2 });
      g.outputInPlace(key, `present_key.${l}`);
      g.outputInPlace(value, `present_value.${l}`);
    }
    const scores = g.o("Add", [
      g.o("Mul", [g.o("MatMul", [q, g.o("Transpose", [key], { perm: [0, 1, 3, 2] })]), g.scalar(gpt2AttentionScale(config, l))]),
      "attention_bias",
    ]);
    const probs = g.o("Softmax", [scores], { axis: -1 });
    save(probs, `saved.${l}.probs`, ["batch", heads, "seq", "seq"]);
    const context = g.o("Reshape", [g.o("Transpose", [g.o("MatMul", [probs, value])], { perm: [0, 2, 1, 3] }), g.ints(rows ? [-1, d] : [0, 0, d])]); // [N, d]
    save(context, `saved.${l}.context`, [N, d]);
    x = g.o("Add", [x, dense(`${b}.attn.c_proj`, context)]);
    const pre = dense(`${b}.mlp.c_fc`, layerNorm(`${b}.ln_2`, x, `${l}.ln_2`)); // [N, inner]
    save(pre, `saved.${l}.fc`, [N, inner]);
    const act = onnxActivation(g, config.activation_function, pre);
    save(act, `saved.${l}.act`, [N, inner]);
    x = g.o("Add", [x, dense(`${b}.mlp.c_proj`, act)]);
  }

  // 3. Final LayerNorm, the LM head (the tied embedding or lm_head, PyTorch's [out, in] as stored: transB, so nothing
  // transposes [V, d]) and trl's value head.
  const normed = layerNorm("transformer.ln_f", x, "ln_f");
  const hidden = rows ? normed : g.o("Reshape", [normed, g.ints([-1, d])]); // [N, d]
  const logits = g.o("Gemm", [hidden, w(gpt2HeadName(config))], { transB: 1 }); // [N, V]
  const values = options.valueHead ? g.o("Gemm", [hidden, w("v_head.summary.weight"), w("v_head.summary.bias")], { transB: 1 }) : undefined; // [N, 1]
  return { logits, values };
}

/**
 * Where the decoder graph's weights come from: embedded as initializers (a model.onnx
 * for the scorer and for users, onnx/export-gpt2.ts), or graph inputs named as Hugging
 * Face names them, so the training engine feeds the Float32Arrays it trains in place and
 * nothing is exported between steps (gpt2-engine.ts decoder()).
 */
export type DecoderWeights = { embed: ReadonlyMap<string, Float32Array> } | "inputs";

/**
 * GPT-2 with its key/value cache, for generation and scoring: the forward pass
 * (writeGpt2Forward) with the cache.
 * Inputs: input_ids and position_ids [batch, new] int64; attention_bias
 * [batch, 1, new, past + new] float (0 where allowed, −1e9 where not: the runner builds
 * it from the padding mask, as causalBias does); past_key.L / past_value.L
 * [batch, heads, past, head_dim] per layer (past = 0 on the first call); with
 * `weights: "inputs"`, every weight the graph reads by its Hugging Face name.
 * Outputs: logits [batch, new, vocab], values [batch, new] with a value head, and
 * present_key.L / present_value.L.
 */
export function gpt2DecoderGraph(config: Gpt2Config, valueHead: boolean, weights: DecoderWeights): Uint8Array {
  const heads = config.n_head;
  const hd = config.n_embd / heads;
  const g = new GraphBuilder("ranklab-gpt2");
  const specs = new Map(gpt2ParamSpecs(config, valueHead).map((p) => [p.name, p.shape]));
  const weightInputs: ValueInfo[] = [];
  // Each weight once, however often the graph reads it (the tied embedding is both the input table and the LM head).
  const seen = new Set<string>();
  const weight = (name: string) => {
    if (seen.has(name)) return name;
    seen.add(name);
    if (weights !== "inputs") {
      const data = weights.embed.get(name);
      if (!data) throw new Error(`GPT-2 export: no weight ${name}`);
      return g.float(name, data, specs.get(name)!);
    }
    weightInputs.push({ name, dataType: F, dims: specs.get(name)! });
    return name;
  };
  const { logits, values } = writeGpt2Forward(g, config, { weight, valueHead, cache: true });
  const leading = g.o("Shape", ["input_ids"]); // [B, new]
  g.outputInPlace(g.o("Reshape", [logits, g.o("Concat", [leading, g.ints([config.vocab_size])], { axis: 0 })]), "logits");
  if (values) g.outputInPlace(g.o("Reshape", [values, leading]), "values");

  const cacheDims = ["batch", heads, "past", hd];
  const cacheNext = ["batch", heads, "past_plus_new", hd];
  const layers = [...Array(config.n_layer).keys()];
  return g.encode(
    [
      { name: "input_ids", dataType: DataType.INT64, dims: ["batch", "new"] },
      { name: "position_ids", dataType: DataType.INT64, dims: ["batch", "new"] },
      { name: "attention_bias", dataType: F, dims: ["batch", 1, "new", "past_plus_new"] },
      ...layers.flatMap((l) => [
        { name: `past_key.${l}`, dataType: F, dims: cacheDims },
        { name: `past_value.${l}`, dataType: F, dims: cacheDims },
      ]),
      ...weightInputs,
    ],
    [
      { name: "logits", dataType: F, dims: ["batch", "new", config.vocab_size] },
      ...(valueHead ? [{ name: "values", dataType: F, dims: ["batch", "new"] }] : []),
      ...layers.flatMap((l) => [
        { name: `present_key.${l}`, dataType: F, dims: cacheNext },
        { name: `present_value.${l}`, dataType: F, dims: cacheNext },
      ]),
    ],
  );
}

/**
 * The training and statistics forward graph: "train" returns the saved activations the
 * backward graph reads; "stats" (rollout statistics, no backward) saves nothing and adds
 * `entropy` [B·T, 1], each position's next-token entropy, computed as
 * logsumexp(logits) − Σ p·logits (finite where a probability underflows to 0, unlike
 * −Σ p·log p). Every weight is a graph input.
 */
function gpt2ForwardGraph(config: Gpt2Config, valueHead: boolean, mode: "train" | "stats") {
  const d = config.n_embd;
  const V = config.vocab_size;
  const params = gpt2ParamSpecs(config, valueHead);
  const shapeOf = new Map(params.map((p) => [p.name, p.shape]));
  const N = "tokens";

  const f = new GraphBuilder("ranklab-gpt2-train-forward");
  // LayerNorm as x̂·γ + β with x̂ and 1/σ saved (saved-activations.ts); the statistics graph saves nothing.
  const saver = mode === "train" ? activationSaver(f, { width: d, eps: config.layer_norm_epsilon, tokens: N, suffix: "d" }) : undefined;
  const forwardOut = writeGpt2Forward(f, config, { weight: (name) => name, valueHead, ...(saver ? { saver } : {}) });
  // logits_bias [V]: 0, or BANNED_LOGIT_BIAS at tokens sampling never draws (generation/banned-tokens.ts). The backward
  // graph needs no change: it reads the softmax saved here, whose banned entries are ~0.
  const logits = f.o("Add", [forwardOut.logits, "logits_bias"]); // [N, V]: h · Wᵀ + bias
  // The softmax over the vocabulary runs here (vectorised; a JavaScript loop over B·T·V exps costs more than a layer).
  // log p(target) is the log of its softmax entry (float32 keeps p's relative precision down to 1e-38, where
  // log p < −87; a second pass for LogSoftmax cost 5% of the full-size step).
  const probs = f.o("Softmax", [logits], { axis: -1 });
  saver?.save(probs, "saved.probs", [N, V]);
  f.outputInPlace(f.o("Log", [f.o("GatherElements", [probs, f.o("Reshape", ["targets", f.ints([-1, 1])])], { axis: 1 })]), "target_logprobs"); // [N, 1]
  if (forwardOut.values) f.outputInPlace(forwardOut.values, "values"); // [N, 1]
  if (mode === "stats") {
    const logZ = f.o("ReduceLogSumExp", [logits], { axes: [-1], keepdims: 1 });
    f.outputInPlace(f.o("Sub", [logZ, f.o("ReduceSum", [f.o("Mul", [probs, logits]), f.ints([-1])], { keepdims: 1 })]), "entropy"); // [N, 1]
  }
  const saved = saver?.saved ?? [];
  const savedDims = saver?.savedDims ?? new Map<string, (string | number)[]>();

  const forward = f.encode(
    [
      { name: "input_ids", dataType: DataType.INT64, dims: ["batch", "seq"] },
      { name: "position_ids", dataType: DataType.INT64, dims: ["batch", "seq"] },
      { name: "attention_bias", dataType: F, dims: ["batch", 1, "seq", "seq"] },
      { name: "targets", dataType: DataType.INT64, dims: ["batch", "seq"] },
      { name: "logits_bias", dataType: F, dims: [V] },
      ...params.map((p): ValueInfo => ({ name: p.name, dataType: F, dims: p.shape })),
    ],
    [
      { name: "target_logprobs", dataType: F, dims: [N, 1] },
      ...(valueHead ? [{ name: "values", dataType: F, dims: [N, 1] }] : []),
      ...(mode === "stats" ? [{ name: "entropy", dataType: F, dims: [N, 1] }] : []),
      ...saved.map((name): ValueInfo => ({ name, dataType: F, dims: savedDims.get(name)! })),
    ],
  );
  return { forward, saved, savedDims, params, shapeOf, headName: gpt2HeadName(config) };
}

/** The forward graph alone, for rollout statistics: target_logprobs, values (with a value head) and entropy, no saved activations. */
export function gpt2StatsGraph(config: Gpt2Config, valueHead: boolean): Uint8Array {
  return gpt2ForwardGraph(config, valueHead, "stats").forward;
}

export function gpt2TrainingGraphs(config: Gpt2Config, valueHead: boolean): Gpt2TrainingGraphs {
  const d = config.n_embd;
  const heads = config.n_head;
  const hd = d / heads;
  const V = config.vocab_size;
  const { forward, saved, savedDims, params, shapeOf, headName } = gpt2ForwardGraph(config, valueHead, "train");
  const N = "tokens";

  // ---------------------------------------------------------------- backward
  const g = new GraphBuilder("ranklab-gpt2-train-backward");
  const used = new Set<string>();
  const w = (name: string) => {
    used.add(name);
    return name;
  };
  const grads: string[] = [];
  const grad = (value: string, name: string) => {
    g.outputInPlace(value, `grad.${name}`);
    grads.push(name);
  };
  const layerNormBack = (prefix: string, tag: string, dy: string) => {
    const { dx, dGamma, dBeta } = layerNormBackward(g, dy, `saved.${tag}.xhat`, `saved.${tag}.rstd`, w(`${prefix}.weight`));
    grad(dGamma, `${prefix}.weight`);
    grad(dBeta, `${prefix}.bias`);
    return dx;
  };
  const normed = (prefix: string, tag: string) => g.o("Add", [g.o("Mul", [`saved.${tag}.xhat`, w(`${prefix}.weight`)]), w(`${prefix}.bias`)]);
  /** y = x·W + b: dW = xᵀ·dy, db = Σ dy; returns dx = dy·Wᵀ. */
  const denseBack = (prefix: string, x: string, dy: string) => {
    grad(g.o("Gemm", [x, dy], { transA: 1 }), `${prefix}.weight`);
    grad(sumRows(g, dy), `${prefix}.bias`);
    return g.o("Gemm", [dy, w(`${prefix}.weight`)], { transB: 1 });
  };
  const hiddenB = normed("transformer.ln_f", "ln_f");
  // The LM head. d log p(target) / d logits = one-hot(target) − p, so with c = −dL/d log p(target) per row,
  // dL/d logits = c·(p − one-hot), never formed as a [N, V] tensor: c scales the rows of h (head gradient
  // Σ c·p·hᵀ, a Gemm over p) and of p·W (input gradient); the one-hot part is −c·h added to the target rows
  // (in TypeScript, with the embedding's rows: see below) and a gather of W's target rows.
  const c = g.o("Neg", ["dlogprobs"]); // [N, 1]
  const scaledHidden = g.o("Mul", [hiddenB, c]); // [N, d]
  g.outputInPlace(g.o("Gemm", ["saved.probs", scaledHidden], { transA: 1 }), "head_grad"); // [V, d]
  g.outputInPlace(g.o("Neg", [scaledHidden]), "head_rows_grad"); // [N, d], to add at the target rows
  let dHidden = g.o("Mul", [
    g.o("Sub", [g.o("MatMul", ["saved.probs", w(headName)]), g.o("Gather", [w(headName), g.o("Reshape", ["targets", g.ints([-1])])])]),
    c,
  ]); // [N, d]
  if (valueHead) {
    dHidden = g.o("Add", [dHidden, g.o("MatMul", ["dvalues", w("v_head.summary.weight")])]);
    grad(g.o("Gemm", ["dvalues", hiddenB], { transA: 1 }), "v_head.summary.weight");
    grad(sumRows(g, "dvalues"), "v_head.summary.bias");
  }
  let dx = layerNormBack("transformer.ln_f", "ln_f", dHidden);
  const headShape = g.o("Concat", [g.o("Shape", ["input_ids"]), g.ints([heads, hd])], { axis: 0 }); // [B, T, h, hd]
  for (let l = config.n_layer - 1; l >= 0; l--) {
    const b = `transformer.h.${l}`;
    // MLP: x += c_proj(act(c_fc(ln_2(x)))).
    const dAct = denseBack(`${b}.mlp.c_proj`, `saved.${l}.act`, dx);
    const dPre = activationBackward(g, config.activation_function, `saved.${l}.fc`, dAct);
    dx = g.o("Add", [dx, layerNormBack(`${b}.ln_2`, `${l}.ln_2`, denseBack(`${b}.mlp.c_fc`, normed(`${b}.ln_2`, `${l}.ln_2`), dPre))]);
    // Attention: x += c_proj(softmax(q·kᵀ/√hd + bias)·v).
    const dContext = denseBack(`${b}.attn.c_proj`, `saved.${l}.context`, dx); // [N, d]
    const dCtx = g.o("Transpose", [g.o("Reshape", [dContext, headShape])], { perm: [0, 2, 1, 3] }); // [B, h, T, hd]
    const { dQ, dK, dV } = attentionBackward(
      g,
      { q: `saved.${l}.q`, k: `saved.${l}.k`, v: `saved.${l}.v`, probs: `saved.${l}.probs` },
      dCtx,
      gpt2AttentionScale(config, l),
    );
    const stacked = g.o(
      "Concat",
      [dQ, dK, dV].map((t) => g.o("Unsqueeze", [t, g.ints([0])])),
      { axis: 0 },
    ); // [3, B, h, T, hd]
    const dQkv = g.o("Reshape", [g.o("Transpose", [stacked], { perm: [1, 3, 0, 2, 4] }), g.ints([-1, 3 * d])]); // [N, 3d]
    dx = g.o("Add", [dx, layerNormBack(`${b}.ln_1`, `${l}.ln_1`, denseBack(`${b}.attn.c_attn`, normed(`${b}.ln_1`, `${l}.ln_1`), dQkv))]);
  }
  // Embeddings: the input gradient, to add at the rows the tokens and positions gathered. The scatter-adds
  // (2·B·T rows of d) run in TypeScript (gpt2-engine.ts), into the head's gradient in place: onnxruntime's
  // ScatterND copied the whole [vocab, d] table first (65 MB at the full size), and the position table's
  // zeros are cheaper allocated there.
  g.outputInPlace(dx, "embed_rows_grad"); // [N, d]
  const scatteredInTypeScript = [headName, "transformer.wte.weight", "transformer.wpe.weight"];

  const missing = params.filter((p) => !grads.includes(p.name) && !scatteredInTypeScript.includes(p.name));
  if (missing.length > 0) throw new Error(`backward graph lacks gradients for ${missing.map((p) => p.name).join(", ")}`);
  const backwardParams = params.map((p) => p.name).filter((n) => used.has(n));
  const backward = g.encode(
    [
      { name: "input_ids", dataType: DataType.INT64, dims: ["batch", "seq"] },
      { name: "position_ids", dataType: DataType.INT64, dims: ["batch", "seq"] },
      { name: "targets", dataType: DataType.INT64, dims: ["batch", "seq"] },
      { name: "dlogprobs", dataType: F, dims: [N, 1] },
      ...(valueHead ? [{ name: "dvalues", dataType: F, dims: [N, 1] }] : []),
      ...backwardParams.map((name): ValueInfo => ({ name, dataType: F, dims: shapeOf.get(name)! })),
      ...saved.map((name): ValueInfo => ({ name, dataType: F, dims: savedDims.get(name)! })),
    ],
    [
      ...grads.map((name): ValueInfo => ({ name: `grad.${name}`, dataType: F, dims: shapeOf.get(name)! })),
      { name: "head_grad", dataType: F, dims: [V, d] },
      { name: "head_rows_grad", dataType: F, dims: [N, d] },
      { name: "embed_rows_grad", dataType: F, dims: [N, d] },
    ],
  );
  return { forward, backward, saved, params, backwardParams };
}
