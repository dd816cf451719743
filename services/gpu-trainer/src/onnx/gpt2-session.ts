import * as ort from "onnxruntime-node";
import { join } from "node:path";
import { ortSessionOptions } from "./session-options.ts";
import { requireCurrentOnnx } from "./weights-stamp.ts";
import type { Decoder } from "../generation/generate.ts";
import type { Gpt2Config } from "../models/gpt2.ts";
import { createOrtSession } from "./device.ts";

type Cache = { key: ort.Tensor; value: ort.Tensor }[];

/**
 * The GPT-2 decoder step on onnxruntime-node, for generation: the same logits as the
 * tfjs decoder (tested within 1e-4), with the cache kept as onnxruntime tensors.
 */
export class OnnxGpt2Decoder implements Decoder<Cache> {
  readonly vocabSize: number;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly config: Gpt2Config,
    /** The weights fed with every run, for a graph that takes them as inputs (fromWeights); none for a model.onnx. */
    private readonly weightFeeds: Record<string, ort.Tensor> = {},
    /** Whether close() releases the session: not when it belongs to the engine that lent it. */
    private readonly ownsSession = true,
  ) {
    this.vocabSize = config.vocab_size;
  }

  /**
   * A decoder over weights held elsewhere (the training engine's Float32Arrays, updated in place by its optimiser):
   * `session` runs engine/gpt2-graphs.ts gpt2DecoderGraph(config, …, "inputs") and `weights` are fed as they are at each call, so a
   * policy that just took a step generates with its new weights, with nothing exported or copied.
   */
  static fromWeights(session: ort.InferenceSession, config: Gpt2Config, weights: ReadonlyMap<string, ort.Tensor>): OnnxGpt2Decoder {
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of session.inputNames) {
      const t = weights.get(name);
      if (t) feeds[name] = t;
    }
    return new OnnxGpt2Decoder(session, config, feeds, false);
  }

  static async open(dir: string, config: Gpt2Config, options: { threads?: number; spin?: boolean } = {}): Promise<OnnxGpt2Decoder> {
    // A graph made from other weights than the folder's is never run (onnx/weights-stamp.ts).
    requireCurrentOnnx(dir);
    const path = join(dir, "model.onnx");
    const session = await createOrtSession(path, ortSessionOptions(options));
    return new OnnxGpt2Decoder(session, config);
  }

  /** One pass over new positions; the raw outputs (logits [B, T, V], values [B, T], present_*). */
  private async run(ids: Int32Array, mask: Int32Array, positions: Int32Array, batch: number, cache: Cache | null) {
    const T = ids.length / batch;
    const total = mask.length / batch;
    const past = total - T;
    const heads = this.config.n_head;
    const hd = this.config.n_embd / heads;
    // The additive bias causalBias builds in tfjs: future keys and padding get −1e9.
    const bias = new Float32Array(batch * T * total);
    for (let b = 0; b < batch; b++)
      for (let t = 0; t < T; t++) for (let j = 0; j < total; j++) bias[(b * T + t) * total + j] = j > past + t || mask[b * total + j] === 0 ? -1e9 : 0;
    const feeds: Record<string, ort.Tensor> = {
      ...this.weightFeeds,
      input_ids: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [batch, T]),
      position_ids: new ort.Tensor("int64", BigInt64Array.from(positions, BigInt), [batch, T]),
      attention_bias: new ort.Tensor("float32", bias, [batch, 1, T, total]),
    };
    const empty = new Float32Array(0);
    for (let l = 0; l < this.config.n_layer; l++) {
      feeds[`past_key.${l}`] = cache?.[l]?.key ?? new ort.Tensor("float32", empty, [batch, heads, 0, hd]);
      feeds[`past_value.${l}`] = cache?.[l]?.value ?? new ort.Tensor("float32", empty, [batch, heads, 0, hd]);
    }
    return this.session.run(feeds);
  }

  async forward(ids: Int32Array, mask: Int32Array, positions: Int32Array, batch: number, cache: Cache | null) {
    const out = await this.run(ids, mask, positions, batch, cache);
    const T = ids.length / batch;
    const logits = out.logits!.data as Float32Array;
    const V = this.vocabSize;
    const lastLogits = new Float32Array(batch * V);
    for (let b = 0; b < batch; b++) lastLogits.set(logits.subarray((b * T + T - 1) * V, (b * T + T) * V), b * V);
    const present: Cache = [];
    for (let l = 0; l < this.config.n_layer; l++) present.push({ key: out[`present_key.${l}`]!, value: out[`present_value.${l}`]! });
    return { lastLogits, cache: present };
  }

  /** A full pass without a cache: logits [B, T, V] and, with a value head, values [B, T]. */
  async fullPass(ids: Int32Array, mask: Int32Array, positions: Int32Array, batch: number): Promise<{ logits: Float32Array; values?: Float32Array }> {
    const out = await this.run(ids, mask, positions, batch, null);
    const values = out.values?.data as Float32Array | undefined;
    return { logits: out.logits!.data as Float32Array, ...(values ? { values } : {}) };
  }

  dispose(cache: Cache): void {
    for (const layer of cache) {
      layer.key.dispose();
      layer.value.dispose();
    }
  }

  async close(): Promise<void> {
    if (this.ownsSession) await this.session.release();
  }
}
