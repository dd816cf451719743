import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { bertWeightsOf, type BertModel, type BertWeights } from "../io/bert-dir.ts";
import { BIGRAM_HASH_PRIME, bertParamSpecs } from "../models/bert.ts";
import { DataType } from "./proto.ts";
import { GraphBuilder, onnxActivation, transposed } from "./graph-builder.ts";
import { WEIGHTS_STAMP_KEY, weightsDigest, withMetadata } from "./weights-stamp.ts";

/**
 * The BERT-style encoder and its head as an ONNX graph that mirrors bertForward op for
 * op (inference: no dropout). Inputs input_ids, attention_mask, token_type_ids
 * [batch, sequence] int64 — Hugging Face's export names — and output `logits`
 * [batch, num_labels].
 */
export function bertToOnnx(model: BertWeights | BertModel): Uint8Array {
  // A tfjs model is read out first (its reference path); the onnxruntime path passes its store.
  const { config, weights } = "weights" in model ? model : bertWeightsOf(model);
  const specs = new Map(bertParamSpecs(config).map((s) => [s.name, s.shape]));
  const get = (name: string) => {
    const data = weights.get(name);
    if (!data) throw new Error(`BERT export: no weight ${name}`);
    return { data, shape: specs.get(name)! };
  };
  const p = config.model_type === "ernie" ? "ernie" : "bert";
  const H = config.hidden_size;
  const heads = config.num_attention_heads;
  const hd = H / heads;
  const g = new GraphBuilder("ranklab-bert");
  const w = (name: string) => g.float(name, get(name).data, get(name).shape);
  // Linear weights go in as [in, out] so MatMul needs no transpose.
  const linear = (prefix: string, x: string) => {
    const weight = get(`${prefix}.weight`);
    const [out, inp] = weight.shape as [number, number];
    const W = g.float(`${prefix}.weight.T`, transposed(weight.data, out, inp), [inp, out]);
    return g.o("Add", [g.o("MatMul", [x, W]), w(`${prefix}.bias`)]);
  };
  const layerNorm = (prefix: string, x: string) =>
    g.o("LayerNormalization", [x, w(`${prefix}.weight`), w(`${prefix}.bias`)], { axis: -1, epsilon: config.layer_norm_eps });
  const gelu = (x: string) => onnxActivation(g, config.hidden_act, x);

  // 1. Embeddings.  [B, T, H]
  const seqLen = g.o("Gather", [g.o("Shape", ["input_ids"]), g.ints([1], [])], { axis: 0 });
  const positionIds = g.o("Range", [g.ints([0], []), seqLen, g.ints([1], [])]);
  let x = g.o("Add", [
    g.o("Add", [
      g.o("Gather", [w(`${p}.embeddings.word_embeddings.weight`), "input_ids"]),
      g.o("Gather", [w(`${p}.embeddings.position_embeddings.weight`), positionIds]),
    ]),
    g.o("Gather", [w(`${p}.embeddings.token_type_embeddings.weight`), "token_type_ids"]),
  ]);
  if (config.use_task_id) {
    x = g.o("Add", [x, g.o("Gather", [w(`${p}.embeddings.task_type_embeddings.weight`), g.ints([0], [])])]);
  }
  if (config.bigram_buckets > 0) {
    // bigramIds in bert.ts, in int64: ((id_t mod n)·(P mod n) mod n + id_{t+1} mod n) mod n, [PAD] after the last.
    const n = g.ints([config.bigram_buckets], []);
    const rest = g.o("Slice", ["input_ids", g.ints([1]), g.ints([1_000_000_000]), g.ints([1])]);
    const zeros = g.o("Mul", [g.o("Slice", ["input_ids", g.ints([0]), g.ints([1]), g.ints([1])]), g.ints([0], [])]);
    const next = g.o("Concat", [rest, zeros], { axis: 1 });
    const aP = g.o("Mod", [g.o("Mul", [g.o("Mod", ["input_ids", n]), g.ints([BIGRAM_HASH_PRIME % config.bigram_buckets], [])]), n]);
    const bucket = g.o("Mod", [g.o("Add", [aP, g.o("Mod", [next, n])]), n]);
    x = g.o("Add", [x, g.o("Gather", [w(`${p}.embeddings.bigram_embeddings.weight`), bucket])]);
  }
  x = layerNorm(`${p}.embeddings.LayerNorm`, x);

  // 2. Blocks. Padding bias [B, 1, 1, T].
  const maskF = g.o("Cast", ["attention_mask"], { to: DataType.FLOAT });
  const bias = g.o("Unsqueeze", [g.o("Mul", [g.o("Sub", [g.scalar(1), maskF]), g.scalar(-1e9)]), g.ints([1, 2])]);
  const splitHeads = (t: string) => g.o("Transpose", [g.o("Reshape", [t, g.ints([0, 0, heads, hd])])], { perm: [0, 2, 1, 3] }); // [B, h, T, hd]
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const b = `${p}.encoder.layer.${l}`;
    const q = splitHeads(linear(`${b}.attention.self.query`, x));
    const kT = g.o("Transpose", [g.o("Reshape", [linear(`${b}.attention.self.key`, x), g.ints([0, 0, heads, hd])])], { perm: [0, 2, 3, 1] }); // [B, h, hd, T]
    const v = splitHeads(linear(`${b}.attention.self.value`, x));
    const scores = g.o("Add", [g.o("Mul", [g.o("MatMul", [q, kT]), g.scalar(1 / Math.sqrt(hd))]), bias]);
    const context = g.o("Reshape", [g.o("Transpose", [g.o("MatMul", [g.o("Softmax", [scores], { axis: -1 }), v])], { perm: [0, 2, 1, 3] }), g.ints([0, 0, H])]);
    x = layerNorm(`${b}.attention.output.LayerNorm`, g.o("Add", [linear(`${b}.attention.output.dense`, context), x]));
    const hidden = gelu(linear(`${b}.intermediate.dense`, x));
    x = layerNorm(`${b}.output.LayerNorm`, g.o("Add", [linear(`${b}.output.dense`, hidden), x]));
  }

  // 3. Pooling ([CLS] or the mean of real tokens), pooler, head.  [B, num_labels]
  let first: string;
  if (config.classifier_pooling === "mean") {
    const mask3 = g.o("Unsqueeze", [maskF, g.ints([2])]); // [B, T, 1]
    const total = g.o("ReduceSum", [g.o("Mul", [x, mask3]), g.ints([1])], { keepdims: 0 });
    first = g.o("Div", [total, g.o("Max", [g.o("ReduceSum", [mask3, g.ints([1])], { keepdims: 0 }), g.scalar(1)])]);
  } else {
    first = g.o("Gather", [x, g.ints([0], [])], { axis: 1 });
  }
  if (config.add_pooling_layer) first = g.o("Tanh", [linear(`${p}.pooler.dense`, first)]);
  g.output(linear("classifier", first), "logits");

  const ids = (name: string) => ({ name, dataType: DataType.INT64, dims: ["batch", "sequence"] });
  return g.encode(
    [ids("input_ids"), ids("attention_mask"), ids("token_type_ids")],
    [{ name: "logits", dataType: DataType.FLOAT, dims: ["batch", config.num_labels] }],
  );
}

/**
 * Writes `<dir>/model.onnx` beside the checkpoint's weights, stamped with their sha256
 * (onnx/weights-stamp.ts): `model` must be what the folder's weights file holds.
 */
export function exportBertOnnx(dir: string, model: BertWeights | BertModel): string {
  const path = join(dir, "model.onnx");
  const digest = weightsDigest(dir);
  const graph = bertToOnnx(model);
  writeFileSync(path, digest ? withMetadata(graph, { [WEIGHTS_STAMP_KEY]: digest }) : graph);
  return path;
}
