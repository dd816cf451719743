import * as ort from "onnxruntime-node";
import type { BertConfig } from "../models/bert.ts";
import { createOrtSession } from "../onnx/device.ts";
import { ortSessionOptions } from "../onnx/session-options.ts";
import { encoderDropoutSites } from "./bert-forward-graph.ts";
import { encoderFeeds, int64, type EncoderBatch } from "./bert-engine.ts";
import { bertMlmGraphs, type BertMlmGraphs } from "./bert-mlm-graphs.ts";
import type { EngineOptions } from "./gpt2-engine.ts";

/** A batch of corrupted rows and the positions to predict (reward-model/pretrain-mlm.ts's maskBatch). */
export interface MlmBatch extends EncoderBatch {
  /** Flat indices (row × length + column) of the positions to predict, distinct. */
  positions: Int32Array;
  /** The original token at each of those positions. */
  labels: Int32Array;
}

export interface MlmForwardResult {
  /** [M]: log p(label) at each masked position. */
  targetLogprobs: Float32Array;
  feeds: Record<string, ort.Tensor>;
}

/**
 * Masked-LM pretraining on onnxruntime-node (bert-mlm-graphs.ts): log p(label) at the
 * masked positions from a forward run, every parameter's gradient (encoder and head, the
 * decoder tied to the word embeddings) from a backward run given dL/d log p. `weights`
 * holds the encoder's arrays (a store's own, trained in place) and the head's; an engine
 * with `dropout` takes a mask per encoder site with each forward pass.
 */
export class OnnxBertMlmEngine {
  private readonly tensors: Map<string, ort.Tensor>;
  private backwardSession?: Promise<ort.InferenceSession>;

  private constructor(
    readonly config: BertConfig,
    private readonly graphs: BertMlmGraphs,
    private readonly forwardSession: ort.InferenceSession,
    private readonly sessionOptions: ort.InferenceSession.SessionOptions,
    readonly weights: Map<string, Float32Array>,
    readonly dropout: boolean,
  ) {
    this.tensors = new Map(graphs.params.map((s) => [s.name, new ort.Tensor("float32", weights.get(s.name)!, s.shape)]));
  }

  /** `weights` must hold bertMlmGraphs' params (the encoder's, then mlmHeadSpecs'); others in it are ignored. */
  static async create(
    config: BertConfig,
    weights: ReadonlyMap<string, Float32Array>,
    options: EngineOptions & { dropout?: boolean } = {},
  ): Promise<OnnxBertMlmEngine> {
    const graphs = bertMlmGraphs(config, { dropout: options.dropout ?? false });
    const own = new Map<string, Float32Array>();
    for (const s of graphs.params) {
      const size = s.shape.reduce((a, b) => a * b, 1);
      const data = weights.get(s.name);
      if (data?.length !== size) throw new Error(`weight ${s.name}: expected ${size} values, got ${data?.length ?? "none"}`);
      own.set(s.name, data);
    }
    const sessionOptions = ortSessionOptions(options);
    return new OnnxBertMlmEngine(config, graphs, await createOrtSession(graphs.forward, sessionOptions), sessionOptions, own, options.dropout ?? false);
  }

  /** The forward pass; an engine with dropout needs `masks` for the batch's encoder sites (dropoutMasks draws them). */
  async forward(batch: MlmBatch, masks?: ReadonlyMap<string, Float32Array>): Promise<MlmForwardResult> {
    if (this.dropout !== (masks !== undefined))
      throw new Error(
        this.dropout ? "forward: this engine trains with dropout and needs its masks" : "forward: this engine was made without dropout; it takes no masks",
      );
    if (batch.positions.length === 0 || batch.positions.length !== batch.labels.length)
      throw new Error(`forward: ${batch.positions.length} masked positions and ${batch.labels.length} labels (at least one of each, as many)`);
    const sites = encoderDropoutSites(this.config).map((site) => ({ site, rows: "tokens" as const }));
    const { ids, attentionBias } = encoderFeeds(this.config, batch, masks, sites);
    ids.masked_positions = int64(batch.positions, [batch.positions.length]);
    ids.labels = int64(batch.labels, [batch.labels.length]);
    const feeds: Record<string, ort.Tensor> = { ...ids, attention_bias: attentionBias };
    for (const [name, t] of this.tensors) feeds[name] = t;
    const out = await this.forwardSession.run(feeds);
    const saved: Record<string, ort.Tensor> = { ...ids };
    for (const name of this.graphs.saved) saved[name] = out[name]!;
    return { targetLogprobs: out.target_logprobs!.data as Float32Array, feeds: saved };
  }

  /** Every parameter's gradient given dL/d log p(label) [M]. */
  async backward(forward: MlmForwardResult, dLogprobs: Float32Array): Promise<Map<string, Float32Array>> {
    if (dLogprobs.length !== forward.targetLogprobs.length)
      throw new Error(`backward: ${dLogprobs.length} gradients for ${forward.targetLogprobs.length} log-probabilities`);
    const feeds: Record<string, ort.Tensor> = { ...forward.feeds, dlogprobs: new ort.Tensor("float32", dLogprobs, [dLogprobs.length, 1]) };
    for (const name of this.graphs.backwardParams) feeds[name] = this.tensors.get(name)!;
    this.backwardSession ??= createOrtSession(this.graphs.backward, this.sessionOptions);
    const out = await (await this.backwardSession).run(feeds);
    const grads = new Map<string, Float32Array>();
    for (const s of this.graphs.params) grads.set(s.name, out[`grad.${s.name}`]!.data as Float32Array);
    return grads;
  }

  async close(): Promise<void> {
    await this.forwardSession.release();
    await (await this.backwardSession)?.release();
  }
}

/** The masked-LM loss, the mean of −log p(label) over the masked positions, and its gradient −1/M per position. */
export function mlmCrossEntropy(targetLogprobs: Float32Array): { loss: number; dLogprobs: Float32Array } {
  const M = targetLogprobs.length;
  let total = 0;
  for (const l of targetLogprobs) total -= l;
  return { loss: total / M, dLogprobs: new Float32Array(M).fill(-1 / M) };
}
