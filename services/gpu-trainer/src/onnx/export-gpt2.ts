import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gpt2WeightsOf, type Gpt2Model, type Gpt2Weights } from "../io/gpt2-dir.ts";
import { gpt2DecoderGraph } from "../engine/gpt2-graphs.ts";
import { WEIGHTS_STAMP_KEY, weightsDigest, withMetadata } from "./weights-stamp.ts";

// model.onnx for GPT-2: the decoder graph (engine/gpt2-graphs.ts gpt2DecoderGraph, the one place GPT-2's forward pass
// is written) with the checkpoint's weights embedded, stamped with the hash of the weights it was made from.

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
