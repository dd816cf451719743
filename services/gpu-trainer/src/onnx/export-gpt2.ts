import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Gpt2Model } from "../io/gpt2-dir.ts";
import { gpt2AttentionScale } from "../models/gpt2.ts";
import { get } from "../models/params.ts";
import { GraphBuilder, onnxActivation, transposed } from "./graph-builder.ts";
import { DataType } from "./proto.ts";
import { WEIGHTS_STAMP_KEY, weightsDigest, withMetadata } from "./weights-stamp.ts";

/**
 * GPT-2 with its key/value cache as an ONNX graph that mirrors gpt2Forward.
 * Inputs: input_ids and position_ids [batch, new] int64; attention_bias
 * [batch, 1, new, past + new] float (0 where allowed, −1e9 where not: the runner builds
 * it from the padding mask, as causalBias does); past_key.L / past_value.L
 * [batch, heads, past, head_dim] per layer (past = 0 on the first call).
 * Outputs: logits [batch, new, vocab], values [batch, new] with a value head, and
 * present_key.L / present_value.L.
 */
export function gpt2ToOnnx(model: Gpt2Model): Uint8Array {
  const { config, params } = model;
  const d = config.n_embd;
  const heads = config.n_head;
  const hd = d / heads;
  const g = new GraphBuilder("ranklab-gpt2");
  const w = (name: string) => g.float(name, get(params, name).dataSync() as Float32Array, get(params, name).shape);
  // Conv1D weights are already [in, out].
  const conv = (prefix: string, x: string) => g.o("Add", [g.o("MatMul", [x, w(`${prefix}.weight`)]), w(`${prefix}.bias`)]);
  const layerNorm = (prefix: string, x: string) => g.o("LayerNormalization", [x, w(`${prefix}.weight`), w(`${prefix}.bias`)], { axis: -1, epsilon: config.layer_norm_epsilon });
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
    const scores = g.o("Add", [g.o("Mul", [g.o("MatMul", [q, g.o("Transpose", [key], { perm: [0, 1, 3, 2] })]), g.scalar(gpt2AttentionScale(config, l))]), "attention_bias"]);
    const context = g.o("Reshape", [g.o("Transpose", [g.o("MatMul", [g.o("Softmax", [scores], { axis: -1 }), value])], { perm: [0, 2, 1, 3] }), g.ints([0, 0, d])]);
    x = g.o("Add", [x, conv(`${b}.attn.c_proj`, context)]);
    x = g.o("Add", [x, conv(`${b}.mlp.c_proj`, act(conv(`${b}.mlp.c_fc`, layerNorm(`${b}.ln_2`, x))))]);
  }

  // 3. Final LayerNorm, LM head (the tied embedding, stored transposed), value head.
  const hidden = layerNorm("transformer.ln_f", x);
  const headName = config.tie_word_embeddings ? "transformer.wte.weight" : "lm_head.weight";
  const head = get(params, headName);
  g.output(g.o("MatMul", [hidden, g.float(`${headName}.T`, transposed(head.dataSync() as Float32Array, config.vocab_size, d), [d, config.vocab_size])]), "logits");
  if (params.has("v_head.summary.weight")) {
    const values = g.o("Add", [g.o("MatMul", [hidden, g.float("v_head.summary.weight.T", get(params, "v_head.summary.weight").dataSync() as Float32Array, [d, 1])]), w("v_head.summary.bias")]);
    g.output(g.o("Squeeze", [values, g.ints([2])]), "values");
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
    ],
    [
      { name: "logits", dataType: DataType.FLOAT, dims: ["batch", "new", config.vocab_size] },
      ...(params.has("v_head.summary.weight") ? [{ name: "values", dataType: DataType.FLOAT, dims: ["batch", "new"] }] : []),
      ...layers.flatMap((l) => [
        { name: `present_key.${l}`, dataType: DataType.FLOAT, dims: cacheNext },
        { name: `present_value.${l}`, dataType: DataType.FLOAT, dims: cacheNext },
      ]),
    ],
  );
}

/**
 * Writes `<dir>/model.onnx` beside the checkpoint's weights, stamped with their sha256
 * (onnx/weights-stamp.ts): `model` must be what the folder's weights file holds.
 */
export function exportGpt2Onnx(dir: string, model: Gpt2Model): string {
  const path = join(dir, "model.onnx");
  const digest = weightsDigest(dir);
  const graph = gpt2ToOnnx(model);
  writeFileSync(path, digest ? withMetadata(graph, { [WEIGHTS_STAMP_KEY]: digest }) : graph);
  return path;
}
