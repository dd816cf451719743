import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { bertWeightsOf, type BertModel, type BertWeights } from "../io/bert-dir.ts";
import { classifierForward, encoderForward, inferenceSources } from "../engine/bert-forward-graph.ts";
import { bertParamSpecs } from "../models/bert.ts";
import { DataType } from "./proto.ts";
import { GraphBuilder } from "./graph-builder.ts";
import { WEIGHTS_STAMP_KEY, weightsDigest, withMetadata } from "./weights-stamp.ts";

/**
 * The BERT-style encoder and its head as an ONNX graph for inference (no dropout): the
 * forward pass of bert-forward-graph.ts, the one the training graphs run, with the
 * weights embedded. Inputs input_ids, attention_mask, token_type_ids [batch, sequence]
 * int64 — Hugging Face's export names — and output `logits` [batch, num_labels].
 */
export function bertToOnnx(model: BertWeights | BertModel): Uint8Array {
  // A tfjs model is read out first (its reference path); the onnxruntime path passes its store.
  const { config, weights } = "weights" in model ? model : bertWeightsOf(model);
  const g = new GraphBuilder("ranklab-bert");
  for (const spec of bertParamSpecs(config)) {
    const data = weights.get(spec.name);
    if (!data) throw new Error(`BERT export: no weight ${spec.name}`);
    g.float(spec.name, data, spec.shape);
  }
  const mode = { train: false } as const;
  const sources = inferenceSources(g, config);
  g.outputInPlace(classifierForward(g, config, mode, encoderForward(g, config, mode, sources), sources), "logits");
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
