import * as tf from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import { gpt2WeightsOf, type Gpt2Model, type Gpt2Weights } from "../io/gpt2-dir.ts";
import type { Gpt2Config } from "../models/gpt2.ts";
import { get } from "../models/params.ts";
import { ortSessionOptions } from "../onnx/session-options.ts";
import { gpt2DecoderGraph, gpt2StatsGraph, gpt2TrainingGraphs, type Gpt2TrainingGraphs } from "./gpt2-graphs.ts";
import { createOrtSession } from "../onnx/device.ts";
import { OnnxGpt2Decoder } from "../onnx/gpt2-session.ts";

/** A batch as the forward pass takes it: [batch, T] row-major. */
export interface Gpt2Batch {
  ids: Int32Array;
  /** 1 for real tokens, 0 for padding. */
  mask: Int32Array;
  positions: Int32Array;
  batch: number;
}

export interface Gpt2ForwardResult {
  /** [batch·T]: log p(target) at each position, for the targets the forward pass was given. */
  targetLogprobs: Float32Array;
  /** [batch·T], with a value head. */
  values?: Float32Array;
  /** What the backward pass needs: the ids, targets and saved activations, as onnxruntime returned them. */
  feeds: Record<string, ort.Tensor>;
  /** The rows the backward pass scatter-adds into: tokens, positions, targets [batch·T]. */
  rows: { ids: Int32Array; positions: Int32Array; targets: Int32Array };
}

/** table[index[i]] += rows[i] for each row of width d. */
function scatterAddRows(table: Float32Array, index: Int32Array, rows: Float32Array, d: number): void {
  for (let i = 0; i < index.length; i++) {
    const to = index[i]! * d;
    const from = i * d;
    for (let j = 0; j < d; j++) table[to + j]! += rows[from + j]!;
  }
}

export interface EngineOptions {
  /** onnxruntime intra-op threads (default: onnxruntime's choice, one per core). */
  threads?: number;
  /** Let onnxruntime's threads spin between ops (faster when nothing else shares the cores). */
  spin?: boolean;
}

/** What stats() returns per position [batch·T]: no activations are kept. */
export interface Gpt2Stats {
  targetLogprobs: Float32Array;
  values?: Float32Array;
  /** The entropy of the next-token distribution. */
  entropy: Float32Array;
}

/** The additive attention bias [B, 1, T, T] that causalBias builds: −1e9 on future keys and on padding. */
export function causalBiasArray(mask: Int32Array, batch: number): Float32Array {
  const T = mask.length / batch;
  const bias = new Float32Array(batch * T * T);
  for (let b = 0; b < batch; b++) for (let t = 0; t < T; t++) for (let j = 0; j < T; j++) bias[(b * T + t) * T + j] = j > t || mask[b * T + j] === 0 ? -1e9 : 0;
  return bias;
}

const int64 = (values: Int32Array, dims: number[]) => new ort.Tensor("int64", BigInt64Array.from(values, BigInt), dims);

/**
 * GPT-2 training on onnxruntime-node: a forward run that returns the target tokens'
 * log-probabilities (and values) with the activations the backward run then turns, with
 * the loss's gradient, into every parameter's gradient (see gpt2-graphs.ts). The weights live here as Float32Arrays (Hugging
 * Face names and layouts), each wrapped once in an ort.Tensor fed to both graphs; an
 * optimiser updates them in place.
 */
export class OnnxGpt2Engine {
  /** Every trained parameter's values, by Hugging Face name. */
  readonly weights: Map<string, Float32Array>;
  readonly shapes: Map<string, number[]>;
  private readonly tensors: Map<string, ort.Tensor>;
  /** [V], added to the logits: zeros, or BANNED_LOGIT_BIAS at the tokens PPO's sampling never draws. */
  private readonly logitsBias: ort.Tensor;

  private constructor(
    readonly config: Gpt2Config,
    readonly valueHead: boolean,
    private readonly graphs: Gpt2TrainingGraphs,
    private readonly forwardSession: ort.InferenceSession | undefined,
    private readonly backwardSession: ort.InferenceSession | undefined,
    weights: Map<string, Float32Array>,
    private readonly sessionOptions: ort.InferenceSession.SessionOptions,
    logitsBias: Float32Array | undefined,
  ) {
    this.weights = weights;
    this.logitsBias = new ort.Tensor("float32", logitsBias ?? new Float32Array(config.vocab_size), [config.vocab_size]);
    this.shapes = new Map(graphs.params.map((p) => [p.name, p.shape]));
    this.tensors = new Map(graphs.params.map((p) => [p.name, new ort.Tensor("float32", weights.get(p.name)!, p.shape)]));
  }

  /**
   * `trainable: false` builds no training sessions (a frozen model that only gives stats(), e.g. PPO's reference);
   * `logitsBias` [V] is added to every position's logits (generation/banned-tokens.ts).
   */
  static async create(
    config: Gpt2Config,
    weights: Map<string, Float32Array>,
    valueHead: boolean,
    options: EngineOptions & { trainable?: boolean; logitsBias?: Float32Array } = {},
  ): Promise<OnnxGpt2Engine> {
    if (options.logitsBias && options.logitsBias.length !== config.vocab_size)
      throw new Error(`logitsBias: ${options.logitsBias.length} values for a vocabulary of ${config.vocab_size}`);
    const graphs = gpt2TrainingGraphs(config, valueHead);
    for (const p of graphs.params) {
      const data = weights.get(p.name);
      const size = p.shape.reduce((a, b) => a * b, 1);
      if (!data || data.length !== size) throw new Error(`weight ${p.name}: expected ${size} values, got ${data?.length ?? "none"}`);
    }
    const sessionOptions = ortSessionOptions(options);
    const trainable = options.trainable ?? true;
    const forward = trainable ? await createOrtSession(graphs.forward, sessionOptions) : undefined;
    const backward = trainable ? await createOrtSession(graphs.backward, sessionOptions) : undefined;
    return new OnnxGpt2Engine(config, valueHead, graphs, forward, backward, weights, sessionOptions, options.logitsBias);
  }

  private statsSession?: ort.InferenceSession;

  /**
   * A forward pass without gradients: the targets' log-probabilities, the values and each
   * position's next-token entropy (PPO's rollout statistics). Its graph saves no activations,
   * so a batch needs memory for one layer's intermediates at a time.
   */
  async stats(batch: Gpt2Batch, targets: Int32Array): Promise<Gpt2Stats> {
    this.statsSession ??= await createOrtSession(gpt2StatsGraph(this.config, this.valueHead), this.sessionOptions);
    const out = await this.statsSession.run(this.forwardFeeds(batch, targets));
    const values = out.values?.data as Float32Array | undefined;
    return { targetLogprobs: out.target_logprobs!.data as Float32Array, ...(values ? { values } : {}), entropy: out.entropy!.data as Float32Array };
  }

  /**
   * An engine over a weight store's own arrays (the value head's only when `valueHead`): it trains them in
   * place, so the store holds the trained weights with no copy back (io/weight-store.ts).
   */
  static fromStore(
    model: Gpt2Weights,
    options: EngineOptions & { valueHead?: boolean; logitsBias?: Float32Array; trainable?: boolean } = {},
  ): Promise<OnnxGpt2Engine> {
    const valueHead = options.valueHead ?? model.hasValueHead;
    const weights = new Map([...model.weights].filter(([name]) => valueHead || !name.startsWith("v_head.")));
    return OnnxGpt2Engine.create(model.config, weights, valueHead, options);
  }

  /** An engine over a copy of a tfjs model's weights (the tfjs reference path and the parity tests). */
  static fromModel(model: Gpt2Model, options: EngineOptions & { valueHead?: boolean; logitsBias?: Float32Array } = {}): Promise<OnnxGpt2Engine> {
    return OnnxGpt2Engine.fromStore(gpt2WeightsOf(model), options);
  }

  /** Copies the weights back into a tfjs model's variables (the parity tests; the onnxruntime path saves from its store). */
  writeTo(model: Gpt2Model): void {
    for (const [name, data] of this.weights) {
      const variable = get(model.params, name);
      tf.tidy(() => variable.assign(tf.tensor(data, variable.shape)));
    }
  }

  /** The forward pass over a batch; `targets` [batch·T] are the tokens whose log-probabilities the loss reads (e.g. lmTargets). */
  async forward(batch: Gpt2Batch, targets: Int32Array): Promise<Gpt2ForwardResult> {
    if (!this.forwardSession) throw new Error("forward: this engine was created with trainable: false");
    const feeds = this.forwardFeeds(batch, targets);
    const out = await this.forwardSession.run(feeds);
    const saved: Record<string, ort.Tensor> = { input_ids: feeds.input_ids!, position_ids: feeds.position_ids!, targets: feeds.targets! };
    for (const name of this.graphs.saved) saved[name] = out[name]!;
    const values = out.values?.data as Float32Array | undefined;
    return {
      targetLogprobs: out.target_logprobs!.data as Float32Array,
      ...(values ? { values } : {}),
      feeds: saved,
      rows: { ids: batch.ids, positions: batch.positions, targets },
    };
  }

  private forwardFeeds(batch: Gpt2Batch, targets: Int32Array): Record<string, ort.Tensor> {
    const T = batch.ids.length / batch.batch;
    const dims = [batch.batch, T];
    if (targets.length !== batch.ids.length) throw new Error(`forward: ${targets.length} targets for ${batch.ids.length} positions`);
    // onnxruntime's Gather reports an index out of range without saying which input; say it here.
    const V = this.config.vocab_size;
    if (batch.positions.some((p) => p < 0 || p >= this.config.n_positions))
      throw new Error(`forward: a position is outside 0..${this.config.n_positions - 1} (n_positions)`);
    if (batch.ids.some((t) => t < 0 || t >= V) || targets.some((t) => t < 0 || t >= V))
      throw new Error(`forward: a token id or target is outside the vocabulary (0..${V - 1})`);
    const ids = { input_ids: int64(batch.ids, dims), position_ids: int64(batch.positions, dims), targets: int64(targets, dims) };
    const feeds: Record<string, ort.Tensor> = {
      ...ids,
      logits_bias: this.logitsBias,
      attention_bias: new ort.Tensor("float32", causalBiasArray(batch.mask, batch.batch), [batch.batch, 1, T, T]),
    };
    for (const [name, t] of this.tensors) feeds[name] = t;
    return feeds;
  }

  /**
   * Every parameter's gradient, from the forward run's saved activations and the loss's
   * gradients with respect to the targets' log-probabilities [B·T] and (with a value
   * head) the values [B·T].
   */
  async backward(forward: Gpt2ForwardResult, dLogprobs: Float32Array, dValues?: Float32Array): Promise<Map<string, Float32Array>> {
    const tokens = forward.targetLogprobs.length;
    if (dLogprobs.length !== tokens) throw new Error(`backward: ${dLogprobs.length} log-probability gradients for ${tokens} positions`);
    const feeds: Record<string, ort.Tensor> = { ...forward.feeds, dlogprobs: new ort.Tensor("float32", dLogprobs, [tokens, 1]) };
    if (this.valueHead) feeds.dvalues = new ort.Tensor("float32", dValues ?? new Float32Array(tokens), [tokens, 1]);
    for (const name of this.graphs.backwardParams) feeds[name] = this.tensors.get(name)!;
    if (!this.backwardSession) throw new Error("backward: this engine was created with trainable: false");
    const out = await this.backwardSession.run(feeds);
    const grads = new Map<string, Float32Array>();
    for (const p of this.graphs.params) {
      const g = out[`grad.${p.name}`];
      if (g) grads.set(p.name, g.data as Float32Array);
    }
    // The embeddings' and the head's scatter-adds (see gpt2-graphs.ts).
    const d = this.config.n_embd;
    const { ids, positions, targets } = forward.rows;
    const head = out.head_grad!.data as Float32Array;
    scatterAddRows(head, targets, out.head_rows_grad!.data as Float32Array, d);
    const embed = out.embed_rows_grad!.data as Float32Array;
    const wte = this.config.tie_word_embeddings ? head : new Float32Array(this.config.vocab_size * d);
    if (!this.config.tie_word_embeddings) grads.set("lm_head.weight", head);
    scatterAddRows(wte, ids, embed, d);
    grads.set("transformer.wte.weight", wte);
    const wpe = new Float32Array(this.config.n_positions * d);
    scatterAddRows(wpe, positions, embed, d);
    grads.set("transformer.wpe.weight", wpe);
    return new Map(this.graphs.params.map((p) => [p.name, grads.get(p.name)!]));
  }

  private decoderSession?: Promise<ort.InferenceSession>;

  /**
   * A decoder for generation over this engine's weights as they are at each call (the
   * graph takes them as inputs: gpt2-graphs.ts gpt2DecoderGraph), so a policy
   * generates right after a step with no export and no copy. Its session is built once
   * and released with the engine; closing the decoder leaves it.
   */
  async decoder(): Promise<OnnxGpt2Decoder> {
    this.decoderSession ??= createOrtSession(gpt2DecoderGraph(this.config, false, "inputs"), this.sessionOptions);
    return OnnxGpt2Decoder.fromWeights(await this.decoderSession, this.config, this.tensors);
  }

  /** The number of trained parameters. */
  get parameterCount(): number {
    let n = 0;
    for (const w of this.weights.values()) n += w.length;
    return n;
  }

  async close(): Promise<void> {
    await this.forwardSession?.release();
    await this.backwardSession?.release();
    await this.statsSession?.release();
    await (await this.decoderSession)?.release();
  }
}
