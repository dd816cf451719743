import * as tf from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import { bertWeightsOf, type BertModel, type BertWeights } from "../io/bert-dir.ts";
import { BIGRAM_HASH_PRIME, type BertConfig } from "../models/bert.ts";
import { get } from "../models/params.ts";
import { ortSessionOptions } from "../onnx/session-options.ts";
import type { Encoded } from "../tokenizer/wordpiece.ts";
import { bertTrainingGraphs, dropoutSites, type BertTrainingGraphs } from "./bert-graphs.ts";
import type { EngineOptions } from "./gpt2-engine.ts";
import { createOrtSession } from "../onnx/device.ts";

export interface BertForwardResult {
  /** [batch, num_labels]: the head's outputs (rewards when num_labels = 1). */
  outputs: Float32Array;
  feeds: Record<string, ort.Tensor>;
}

export const int64 = (values: Int32Array, dims: number[]) => new ort.Tensor("int64", BigInt64Array.from(values, BigInt), dims);

/** bigramIds in TypeScript: (id_t · P + id_{t+1}) mod buckets per row, the last position paired with 0. */
export function bigramIdsArray(ids: Int32Array, batch: number, buckets: number): Int32Array {
  const T = ids.length / batch;
  const out = new Int32Array(ids.length);
  const pMod = BIGRAM_HASH_PRIME % buckets;
  for (let b = 0; b < batch; b++)
    for (let t = 0; t < T; t++) {
      const next = t + 1 < T ? ids[b * T + t + 1]! : 0;
      out[b * T + t] = ((((ids[b * T + t]! % buckets) * pMod) % buckets) + (next % buckets)) % buckets;
    }
  return out;
}

/**
 * Inverted-dropout masks for every site of bertForward (dropoutSites): each unit kept
 * with probability 1 − rate and then scaled by 1/(1 − rate), as tf.dropout does. Drawn
 * from `random`, so a seeded run draws the same masks again.
 */
export function dropoutMasks(config: BertConfig, batch: number, length: number, rate: number, random: () => number): Map<string, Float32Array> {
  const H = config.hidden_size;
  const keep = 1 / (1 - rate);
  const masks = new Map<string, Float32Array>();
  for (const { site, rows } of dropoutSites(config)) {
    const mask = new Float32Array((rows === "tokens" ? batch * length : batch) * H);
    for (let i = 0; i < mask.length; i++) mask[i] = random() < rate ? 0 : keep;
    masks.set(site, mask);
  }
  return masks;
}

/** What the encoder's graphs read of a batch; token types are zeros when absent (a single text per row). */
export type EncoderBatch = Pick<Encoded, "inputIds" | "attentionMask" | "batch" | "length"> & { tokenTypeIds?: Int32Array };

/**
 * The encoder's feeds for a batch (bert-forward-graph.ts's inputs): the ids, bigram ids,
 * the dropout masks of `sites` when `masks` is given (checked against their shapes), and
 * the padding bias [B, 1, 1, T] (−1e9 on padding). Names the problem when a sequence is
 * too long or a token id is outside the vocabulary.
 */
export function encoderFeeds(
  config: BertConfig,
  enc: EncoderBatch,
  masks: ReadonlyMap<string, Float32Array> | undefined,
  sites: readonly { site: string; rows: "tokens" | "batch" }[],
): { ids: Record<string, ort.Tensor>; attentionBias: ort.Tensor } {
  const { batch: B, length: T } = enc;
  const dims = [B, T];
  if (T > config.max_position_embeddings) throw new Error(`sequence of ${T} tokens exceeds max_position_embeddings ${config.max_position_embeddings}`);
  if (enc.inputIds.some((t) => t < 0 || t >= config.vocab_size)) throw new Error(`forward: a token id is outside the vocabulary (0..${config.vocab_size - 1})`);
  const bias = new Float32Array(B * T);
  for (let i = 0; i < B * T; i++) bias[i] = enc.attentionMask[i] ? 0 : -1e9;
  const ids: Record<string, ort.Tensor> = {
    input_ids: int64(enc.inputIds, dims),
    token_type_ids: int64(enc.tokenTypeIds ?? new Int32Array(B * T), dims),
  };
  if (config.bigram_buckets > 0) ids.bigram_ids = int64(bigramIdsArray(enc.inputIds, B, config.bigram_buckets), dims);
  for (const { site, rows } of masks ? sites : []) {
    const mask = masks!.get(site);
    const shape = [rows === "tokens" ? B * T : B, config.hidden_size];
    if (mask?.length !== shape[0]! * shape[1]!)
      throw new Error(`forward: dropout mask ${site} must hold ${shape.join(" × ")} values, got ${mask?.length ?? "none"}`);
    ids[`dropout.${site}`] = new ort.Tensor("float32", mask, shape);
  }
  return { ids, attentionBias: new ort.Tensor("float32", bias, [B, 1, 1, T]) };
}

/**
 * The BERT/ERNIE encoder and head on onnxruntime-node for training: the head's outputs
 * from a forward run, every parameter's gradient from a backward run given dL/d outputs.
 * Weights are Float32Arrays an optimiser updates in place, as in OnnxGpt2Engine. An
 * engine made with `dropout: true` takes a mask per site with each forward pass
 * (dropoutMasks), and its backward pass uses the same ones.
 */
export class OnnxBertEngine {
  readonly weights: Map<string, Float32Array>;
  private readonly tensors: Map<string, ort.Tensor>;

  private constructor(
    readonly config: BertConfig,
    private readonly graphs: BertTrainingGraphs,
    private readonly forwardSession: ort.InferenceSession,
    private readonly sessionOptions: ort.InferenceSession.SessionOptions,
    weights: Map<string, Float32Array>,
    /** Whether the graphs take dropout masks (forward's `masks`). */
    readonly dropout: boolean,
  ) {
    this.weights = weights;
    this.tensors = new Map(graphs.params.map((s) => [s.name, new ort.Tensor("float32", weights.get(s.name)!, s.shape)]));
  }

  static async create(config: BertConfig, weights: Map<string, Float32Array>, options: EngineOptions & { dropout?: boolean } = {}): Promise<OnnxBertEngine> {
    const graphs = bertTrainingGraphs(config, { dropout: options.dropout ?? false });
    for (const s of graphs.params) {
      const size = s.shape.reduce((a, b) => a * b, 1);
      if (weights.get(s.name)?.length !== size) throw new Error(`weight ${s.name}: expected ${size} values, got ${weights.get(s.name)?.length ?? "none"}`);
    }
    const sessionOptions = ortSessionOptions(options);
    return new OnnxBertEngine(config, graphs, await createOrtSession(graphs.forward, sessionOptions), sessionOptions, weights, options.dropout ?? false);
  }

  /** Made at the first backward(): an engine that only scores (outputs(), a folder's dev or held-out figures) never builds it. */
  private backwardSession?: Promise<ort.InferenceSession>;

  /** An engine over a weight store's own arrays: it trains them in place, so the store holds the trained weights (io/weight-store.ts). */
  static fromStore(model: BertWeights, options: EngineOptions & { dropout?: boolean } = {}): Promise<OnnxBertEngine> {
    return OnnxBertEngine.create(model.config, model.weights, options);
  }

  /** An engine over a copy of a tfjs model's weights (the tfjs reference path and the parity tests). */
  static fromModel(model: BertModel, options: EngineOptions & { dropout?: boolean } = {}): Promise<OnnxBertEngine> {
    return OnnxBertEngine.fromStore(bertWeightsOf(model), options);
  }

  /**
   * The head's outputs for a batch as the weights are now, without dropout (every mask all ones, so the
   * inverted dropout is the identity): evaluation during training, on the weights being trained.
   */
  async outputs(enc: Encoded): Promise<Float32Array> {
    const masks = this.dropout
      ? new Map(
          dropoutSites(this.config).map(({ site, rows }) => [
            site,
            new Float32Array((rows === "tokens" ? enc.batch * enc.length : enc.batch) * this.config.hidden_size).fill(1),
          ]),
        )
      : undefined;
    return (await this.forward(enc, masks)).outputs;
  }

  /** Copies the weights into a tfjs model's variables (the parity tests; the onnxruntime path saves from its store). */
  writeTo(model: BertModel): void {
    for (const [name, data] of this.weights) {
      const variable = get(model.params, name);
      tf.tidy(() => variable.assign(tf.tensor(data, variable.shape)));
    }
  }

  /** The forward pass; an engine with dropout needs `masks` for the batch (dropoutMasks), one without takes none. */
  async forward(enc: Encoded, masks?: ReadonlyMap<string, Float32Array>): Promise<BertForwardResult> {
    const { batch: B, length: T } = enc;
    if (this.dropout !== (masks !== undefined))
      throw new Error(
        this.dropout ? "forward: this engine trains with dropout and needs its masks" : "forward: this engine was made without dropout; it takes no masks",
      );
    const { ids, attentionBias } = encoderFeeds(this.config, enc, masks, dropoutSites(this.config));
    const pool = new Float32Array(B * T);
    for (let b = 0; b < B; b++) {
      let count = 0;
      for (let t = 0; t < T; t++) count += enc.attentionMask[b * T + t]!;
      // "mean": the average over unpadded tokens (Σ mask·x / max(Σ mask, 1)); "cls": the first token.
      for (let t = 0; t < T; t++)
        pool[b * T + t] = this.config.classifier_pooling === "mean" ? enc.attentionMask[b * T + t]! / Math.max(count, 1) : t === 0 ? 1 : 0;
    }
    ids.pool_weights = new ort.Tensor("float32", pool, [B, T]);
    const feeds: Record<string, ort.Tensor> = { ...ids, attention_bias: attentionBias };
    for (const [name, t] of this.tensors) feeds[name] = t;
    const out = await this.forwardSession.run(feeds);
    const saved: Record<string, ort.Tensor> = { ...ids };
    for (const name of this.graphs.saved) saved[name] = out[name]!;
    return { outputs: out.outputs!.data as Float32Array, feeds: saved };
  }

  /** Every parameter's gradient given dL/d outputs [batch · num_labels]. */
  async backward(forward: BertForwardResult, dOutputs: Float32Array): Promise<Map<string, Float32Array>> {
    if (dOutputs.length !== forward.outputs.length) throw new Error(`backward: ${dOutputs.length} output gradients for ${forward.outputs.length} outputs`);
    const feeds: Record<string, ort.Tensor> = {
      ...forward.feeds,
      d_outputs: new ort.Tensor("float32", dOutputs, [dOutputs.length / this.config.num_labels, this.config.num_labels]),
    };
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

/**
 * rankLoss in TypeScript: mean over pairs of softplus(r_worse − r_better), and its
 * gradient with respect to the rewards (σ(r_w − r_b) / pairs, negative on the better one).
 * With `weights` (one per pair), the weighted mean Σ w·softplus / Σ w, as rankLoss.
 */
export function rankLossGrad(rewards: Float32Array, better: Int32Array, worse: Int32Array, weights?: Float32Array): { loss: number; dRewards: Float32Array } {
  const dRewards = new Float32Array(rewards.length);
  let total = 0;
  const n = better.length;
  let norm = n;
  if (weights) {
    if (weights.length !== n) throw new Error(`rankLossGrad: ${weights.length} weights for ${n} pairs`);
    norm = weights.reduce((a, b) => a + b, 0);
  }
  for (let i = 0; i < n; i++) {
    const w = weights ? weights[i]! : 1;
    const z = rewards[worse[i]!]! - rewards[better[i]!]!;
    total += w * (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));
    const s = w / (1 + Math.exp(-z)) / norm;
    dRewards[worse[i]!]! += s;
    dRewards[better[i]!]! -= s;
  }
  return { loss: total / norm, dRewards };
}
