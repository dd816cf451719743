import { existsSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.ts";
import { readSafetensors, type TensorMap } from "./safetensors.ts";
import { readTorchBin } from "./torch-bin.ts";

/**
 * Buffers that Hugging Face checkpoints may carry beside the weights and that are not
 * parameters: GPT-2's causal mask `h.N.attn.bias` (float, uint8 or bool by transformers
 * version) and `attn.masked_bias`, and BERT's `embeddings.position_ids` (int64).
 * ranklab computes all three itself, so they are skipped whatever their dtype.
 * (`c_attn.bias` is a weight and does not match.)
 */
export function isKnownBuffer(name: string): boolean {
  return /(^|\.)(attn\.bias|attn\.masked_bias|position_ids)$/.test(name);
}

/**
 * A model folder's weights: `model.safetensors`, else `pytorch_model.bin` (read by a
 * safe state-dict reader, see torch-bin.ts), known buffers skipped.
 */
export function readCheckpointWeights(dir: string): { tensors: TensorMap; path: string } {
  const safetensors = join(dir, "model.safetensors");
  if (existsSync(safetensors)) return { tensors: readSafetensors(safetensors, { skip: isKnownBuffer }).tensors, path: safetensors };
  const bin = join(dir, "pytorch_model.bin");
  if (existsSync(bin)) return { tensors: readTorchBin(bin, { skip: isKnownBuffer }), path: bin };
  const sharded = ["model.safetensors.index.json", "pytorch_model.bin.index.json"].find((f) => existsSync(join(dir, f)));
  if (sharded)
    throw new UserError(`${dir}: the weights are sharded (${sharded}); ranklab reads one model.safetensors or pytorch_model.bin, so merge the shards first`);
  throw new UserError(`${dir}: no model.safetensors or pytorch_model.bin`);
}
