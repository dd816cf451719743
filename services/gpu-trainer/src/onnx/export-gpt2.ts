import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gpt2WeightsOf, type Gpt2Model, type Gpt2Weights } from "../io/gpt2-dir.ts";
import { gpt2AttentionScale, gpt2ParamSpecs, type Gpt2Config } from "../models/gpt2.ts";
import { GraphBuilder, onnxActivation } from "./graph-builder.ts";
import { DataType, type ValueInfo } from "./proto.ts";
import { WEIGHTS_STAMP_KEY, weightsDigest, withMetadata } from "./weights-stamp.ts";

/**
 * Where the decoder graph's weights come from: embedded as initializers (a model.onnx
 * for the scorer and for users), or graph inputs named as Hugging Face names them, so
 * the training engine feeds the Float32Arrays it trains in place and nothing is exported
 * between steps (engine/gpt2-engine.ts decoder()).
 */
export type DecoderWeights = { embed: ReadonlyMap<string, Float32Array> } | "inputs";

/**
 * GPT-2 with its key/value cache as an ONNX graph that mirrors gpt2Forward.
 * Inputs: input_ids and position_ids [batch, new] int64; attention_bias
 * [batch, 1, new, past + new] float (0 where allowed, −1e9 where not: the runner builds
 * it from the padding mask, as causalBias does); past_key.L / past_value.L
 * [batch, heads, past, head_dim] per layer (past = 0 on the first call); with
 * `weights: "inputs"`, every weight by its Hugging Face name.
 * Outputs: logits [batch, new, vocab], values [batch, new] with a value head, and
 * present_key.L / present_value.L.
 */
export function gpt2DecoderGraph(config: Gpt2Config, valueHead: boolean, weights: DecoderWeights): Uint8Array {
  const d = config.n_embd;
  const heads = config.n_head;
  const hd = d / heads;
  const g = new GraphBuilder("ranklab-gpt2");
  const specs = new Map(gpt2ParamSpecs(config, valueHead).map((p) => [p.name, p.shape]));
  const weightInputs: ValueInfo[] = [];
  // Each weight once, however often the graph reads it (the tied embedding is both the input table and the LM head).
  const seen = new Set<string>();
  const w = (name: string) => {
    if (seen.has(name)) return name;
    seen.add(name);
    if (weights !== "inputs") {
      const data = weights.embed.get(name);
      if (!data) throw new Error(`GPT-2 export: no weight ${name}`);
      return g.float(name, data, specs.get(name)!);
    }
    weightInputs.push({ name, dataType: DataType.FLOAT, dims: specs.get(name)! });
    return name;
  };
  // Conv1D weights are already [in, out].
  const conv = (prefix: string, x: string) => g.o("Add", [g.o("MatMul", [x, w(`${prefix}.weight`)]), w(`${prefix}.bias`)]);
  const layerNorm = (prefix: string, x: string) =>
    g.o("LayerNormalization", [x, w(`${prefix}.weight`), w(`${prefix}.bias`)], { axis: -1, epsilon: config.layer_norm_epsilon });
  const act = (x: string) => onnxActivation(g, config.activation_function, x);

  // 1. Embeddings.  [B, T, d]
  let x = g.o("Add", [g.o("Gather", [w("transformer.wte.weight"), "input_ids"]), g.o("Gather", [w("transformer.wpe.weight"), "position_ids"])]);

  // 2. Blocks with the cache.
  const splitHeads = (t: string) => g.o("Transpose", [g.o("Reshape", [t, g.ints([0, 0, heads, hd])])], { perm: [0, 2, 1, 3] }); // [B, h, T, hd]
  for (let l = 0; l < config.n_layer; l++) {
    const b = `transformer.h.${l}`;
    const qkv = conv(`${b}.attn.c_attn`, layerNorm(`${b}.ln_1`, x)); // [B, T, 3d]
    const [q, k, v] = g.op("Split", [qkv], { axis: -1 }, 3).map(splitHeads) as [string, string, string];
    const key = g.o("Concat", [`past_key.${l}`, k], { axis: 2 });
    const value = g.o("Concat", [`past_value.${l}`, v], { axis: 2 });
    g.output(key, `present_key.${l}`);
    g.output(value, `present_value.${l}`);
    const scores = g.o("Add", [
      g.o("Mul", [g.o("MatMul", [q, g.o("Transpose", [key], { perm: [0, 1, 3, 2] })]), g.scalar(gpt2AttentionScale(config, l))]),
      "attention_bias",
    ]);
    const context = g.o("Reshape", [
      g.o("Transpose", [g.o("MatMul", [g.o("Softmax", [scores], { axis: -1 }), value])], { perm: [0, 2, 1, 3] }),
      g.ints([0, 0, d]),
    ]);
    x = g.o("Add", [x, conv(`${b}.attn.c_proj`, context)]);
    x = g.o("Add", [x, conv(`${b}.mlp.c_proj`, act(conv(`${b}.mlp.c_fc`, layerNorm(`${b}.ln_2`, x))))]);
  }

  // 3. Final LayerNorm, LM head (the tied embedding), value head: each a Gemm on [B·T, d] rows with the
  // PyTorch [out, in] weight as stored (transB), so neither export nor engine transposes [vocab, d].
  const hidden = layerNorm("transformer.ln_f", x);
  const rows = g.o("Reshape", [hidden, g.ints([-1, d])]); // [B·T, d]
  const leading = g.o("Slice", [g.o("Shape", [hidden]), g.ints([0]), g.ints([2])]); // [B, T]
  const headName = config.tie_word_embeddings ? "transformer.wte.weight" : "lm_head.weight";
  const logits = g.o("Gemm", [rows, w(headName)], { transB: 1 }); // [B·T, V]
  g.output(g.o("Reshape", [logits, g.o("Concat", [leading, g.ints([config.vocab_size])], { axis: 0 })]), "logits");
  if (valueHead) {
    const values = g.o("Gemm", [rows, w("v_head.summary.weight"), w("v_head.summary.bias")], { transB: 1 }); // [B·T, 1]
    g.output(g.o("Reshape", [values, leading]), "values");
  }

  const cacheDims = ["batch", heads, "past", hd];
  const cacheNext = ["batch", heads, "past_plus_new", hd];
  const layers = [...Array(config.n_layer).keys()];
  return g.encode(
    [
      { name: "input_ids", dataType: DataType.INT64, dims: ["batch", "new"] },
      { name: "position_ids", dataType: DataType.INT64, dims: ["batch", "new"] },
      { name: "attention_bias", dataType: DataType.FLOAT, dims: ["batch", 1, "new", "past_plus_new"] },
      ...layers.flatMap((l) => [
        { name: `past_key.${l}`, dataType: DataType.FLOAT, dims: cacheDims },
        { name: `past_value.${l}`, dataType: DataType.FLOAT, dims: cacheDims },
      ]),
      ...weightInputs,
    ],
    [
      { name: "logits", dataType: DataType.FLOAT, dims: ["batch", "new", config.vocab_size] },
      ...(valueHead ? [{ name: "values", dataType: DataType.FLOAT, dims: ["batch", "new"] }] : []),
      ...layers.flatMap((l) => [
        { name: `present_key.${l}`, dataType: DataType.FLOAT, dims: cacheNext },
        { name: `present_value.${l}`, dataType: DataType.FLOAT, dims: cacheNext },
      ]),
    ],
  );
}

/** A checkpoint's decoder with its weights embedded: what model.onnx holds (a tfjs model is read out first: its reference path). */
export function gpt2ToOnnx(model: Gpt2Weights | Gpt2Model): Uint8Array {
  const { config, weights } = "weights" in model ? model : gpt2WeightsOf(model);
  return gpt2DecoderGraph(config, weights.has("v_head.summary.weight"), { embed: weights });
}

/**
 * Writes `<dir>/model.onnx` beside the checkpoint's weights, stamped with their sha256
 * (onnx/weights-stamp.ts): `model` must be what the folder's weights file holds.
 */
export function exportGpt2Onnx(dir: string, model: Gpt2Weights | Gpt2Model): string {
  const path = join(dir, "model.onnx");
  const digest = weightsDigest(dir);
  const graph = gpt2ToOnnx(model);
  writeFileSync(path, digest ? withMetadata(graph, { [WEIGHTS_STAMP_KEY]: digest }) : graph);
  return path;
}
