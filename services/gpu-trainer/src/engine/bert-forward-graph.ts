import { BIGRAM_HASH_PRIME, bertParamSpecs, type BertConfig } from "../models/bert.ts";
import type { ParamSpec } from "../models/params.ts";
import { type GraphBuilder, onnxActivation } from "../onnx/graph-builder.ts";
import { DataType, type ValueInfo } from "../onnx/proto.ts";
import { activationSaver } from "./saved-activations.ts";

/**
 * BERT/ERNIE's forward pass (bertForward: embeddings with ERNIE's task type and hashed
 * bigrams, post-LayerNorm blocks, [CLS] or mean pooling, the pooler, the classifier),
 * spelled out once as ONNX ops for every graph that runs it:
 *
 * - training (`train: true`; bert-graphs.ts, and bert-mlm-graphs.ts for the encoder): the
 *   padding bias, bigram ids and pooling weights are fed from TypeScript, the activations
 *   the backward graphs read are saved as `saved.*` outputs (LayerNorm as x̂·γ + β, x̂
 *   and 1/σ saved), and with `dropout` the mask inputs `dropout.<site>` multiply each site;
 * - inference (`train: false`; onnx/export-bert.ts's model.onnx): the same ops from
 *   Hugging Face's inputs (input_ids, attention_mask, token_type_ids), which
 *   `inferenceSources` turns into the bias, bigram ids and pooling weights in the graph;
 *   LayerNorm is one fused op; nothing is saved; the caller embeds the weights.
 *
 * Weights are read by Hugging Face name (graph inputs when training, initializers in
 * model.onnx). Activations are 2-D [B·T, H] ("tokens" rows) so each dense layer is one
 * Gemm with PyTorch's [out, in] weight (transB).
 */
export type ForwardMode = { train: true; dropout: boolean } | { train: false };

/** Where the encoder reads what is not a weight: graph inputs when training, values inferenceSources computes in model.onnx. */
export interface ForwardSources {
  /** [B, 1, 1, T]: 0 on tokens, −1e9 on padding. */
  attentionBias: string;
  /** [B, T] int64 hashed bigram buckets (models/bert.ts bigramIds); read only with bigram_buckets > 0. */
  bigramIds: string;
  /** [B, T]: the head's input is Σ_t w_t·x_t (a one-hot on [CLS], or mask / count for "mean"). */
  poolWeights: string;
}

const F = DataType.FLOAT;
export const TOKENS = "tokens";

export const bertPrefix = (config: BertConfig) => (config.model_type === "ernie" ? "ernie" : "bert");

/** The encoder's parameters: bertParamSpecs without the pooler and the classifier. */
export function bertEncoderSpecs(config: BertConfig): ParamSpec[] {
  const p = bertPrefix(config);
  return bertParamSpecs(config).filter((s) => s.name.startsWith(`${p}.`) && !s.name.includes(".pooler."));
}

/** bertEncode's dropout sites, each mask [tokens, H]: after the embeddings' LayerNorm, on each block's attention and feed-forward outputs. */
export function encoderDropoutSites(config: BertConfig): string[] {
  return ["emb", ...Array.from({ length: config.num_hidden_layers }, (_, l) => [`${l}.attn`, `${l}.out`]).flat()];
}

/** A training graph's id inputs [B, T] int64 (bigram_ids with bigram buckets) and, with dropout, the encoder's masks [tokens, H]. */
export function encoderInputs(config: BertConfig, dropout: boolean): ValueInfo[] {
  return [
    { name: "input_ids", dataType: DataType.INT64, dims: ["batch", "seq"] },
    { name: "token_type_ids", dataType: DataType.INT64, dims: ["batch", "seq"] },
    ...(config.bigram_buckets > 0 ? [{ name: "bigram_ids", dataType: DataType.INT64, dims: ["batch", "seq"] }] : []),
    ...(dropout ? encoderDropoutSites(config).map((site): ValueInfo => ({ name: `dropout.${site}`, dataType: F, dims: [TOKENS, config.hidden_size] })) : []),
  ];
}

/** A training graph's sources: its inputs attention_bias, bigram_ids and pool_weights. */
export const TRAINING_SOURCES: ForwardSources = { attentionBias: "attention_bias", bigramIds: "bigram_ids", poolWeights: "pool_weights" };

/**
 * model.onnx's sources from Hugging Face's inputs: the padding bias from attention_mask,
 * the bigram buckets from input_ids in int64 (((id_t mod n)·(P mod n) mod n + id_{t+1}
 * mod n) mod n, [PAD] after the last, as bigramIds), the pooling weights from the mask
 * ("mean": mask / max(Σ mask, 1); "cls": 1 on the first token).
 */
export function inferenceSources(f: GraphBuilder, config: BertConfig): ForwardSources {
  const maskF = f.o("Cast", ["attention_mask"], { to: F }); // [B, T]
  const attentionBias = f.o("Unsqueeze", [f.o("Mul", [f.o("Sub", [f.scalar(1), maskF]), f.scalar(-1e9)]), f.ints([1, 2])]);
  let bigramIds = "";
  if (config.bigram_buckets > 0) {
    const n = f.ints([config.bigram_buckets], []);
    const rest = f.o("Slice", ["input_ids", f.ints([1]), f.ints([1_000_000_000]), f.ints([1])]);
    const zeros = f.o("Mul", [f.o("Slice", ["input_ids", f.ints([0]), f.ints([1]), f.ints([1])]), f.ints([0], [])]);
    const next = f.o("Concat", [rest, zeros], { axis: 1 });
    const aP = f.o("Mod", [f.o("Mul", [f.o("Mod", ["input_ids", n]), f.ints([BIGRAM_HASH_PRIME % config.bigram_buckets], [])]), n]);
    bigramIds = f.o("Mod", [f.o("Add", [aP, f.o("Mod", [next, n])]), n]);
  }
  let poolWeights: string;
  if (config.classifier_pooling === "mean") {
    poolWeights = f.o("Div", [maskF, f.o("Max", [f.o("ReduceSum", [maskF, f.ints([1])], { keepdims: 1 }), f.scalar(1)])]);
  } else {
    const seqLen = f.o("Gather", [f.o("Shape", ["input_ids"]), f.ints([1], [])], { axis: 0 });
    const first = f.o("Cast", [f.o("Equal", [f.o("Range", [f.ints([0], []), seqLen, f.ints([1], [])]), f.ints([0], [])])], { to: F }); // [T]
    poolWeights = f.o("Expand", [first, f.o("Shape", ["input_ids"])]); // [B, T]
  }
  return { attentionBias, bigramIds, poolWeights };
}

/**
 * The encoder's forward pass into `f` (bertEncode): reads input_ids, token_type_ids and the
 * weights, and `sources`' bias and bigram ids; returns the last hidden states x
 * [tokens, H], with the saved activations (training) and helpers the head reuses.
 */
export function encoderForward(f: GraphBuilder, config: BertConfig, mode: ForwardMode, sources: ForwardSources) {
  const p = bertPrefix(config);
  const H = config.hidden_size;
  const heads = config.num_attention_heads;
  const hd = H / heads;
  const I = config.intermediate_size;
  const scale = 1 / Math.sqrt(hd);
  const emb = `${p}.embeddings`;
  const dropout = mode.train && mode.dropout;
  // Training: LayerNorm as x̂·γ + β with x̂ and 1/σ saved. Inference: one fused LayerNormalization, nothing saved.
  const saver = mode.train
    ? activationSaver(f, { width: H, eps: config.layer_norm_eps, tokens: TOKENS, suffix: "h" })
    : {
        saved: [] as string[],
        savedDims: new Map<string, (string | number)[]>(),
        save: (_value: string, _name: string, _dims: (string | number)[]) => {},
        layerNorm: (prefix: string, x: string, _tag: string) =>
          f.o("LayerNormalization", [x, `${prefix}.weight`, `${prefix}.bias`], { axis: -1, epsilon: config.layer_norm_eps }),
      };
  const { save, layerNorm } = saver;
  const linear = (prefix: string, x: string) => f.o("Gemm", [x, `${prefix}.weight`, `${prefix}.bias`], { transB: 1 });
  const flat = (t: string) => f.o("Reshape", [t, f.ints([-1])]);
  const bth = f.o("Concat", [f.o("Shape", ["input_ids"]), f.ints([H])], { axis: 0 }); // [B, T, H]
  const bthh = f.o("Concat", [f.o("Shape", ["input_ids"]), f.ints([heads, hd])], { axis: 0 }); // [B, T, h, hd]
  const positions = f.o("Range", [f.ints([0], []), f.o("Gather", [f.o("Shape", ["input_ids"]), f.ints([1], [])], { axis: 0 }), f.ints([1], [])]); // [T]

  // 1. Embeddings, in bertEncode's order: (words + positions) + types (+ task 0) (+ bigrams), then LayerNorm.
  const words = f.o("Reshape", [f.o("Gather", [`${emb}.word_embeddings.weight`, flat("input_ids")]), bth]);
  let e = f.o("Add", [
    f.o("Add", [words, f.o("Gather", [`${emb}.position_embeddings.weight`, positions])]),
    f.o("Reshape", [f.o("Gather", [`${emb}.token_type_embeddings.weight`, flat("token_type_ids")]), bth]),
  ]);
  if (config.use_task_id) e = f.o("Add", [e, f.o("Gather", [`${emb}.task_type_embeddings.weight`, f.ints([0], [])], { axis: 0 })]);
  if (config.bigram_buckets > 0) e = f.o("Add", [e, f.o("Reshape", [f.o("Gather", [`${emb}.bigram_embeddings.weight`, flat(sources.bigramIds)]), bth])]);
  // Inverted dropout at a site: × its mask input; none without dropout.
  const drop = (site: string, t: string) => (dropout ? f.o("Mul", [t, `dropout.${site}`]) : t);
  let x = drop("emb", layerNorm(`${emb}.LayerNorm`, f.o("Reshape", [e, f.ints([-1, H])]), "emb"));

  // 2. Post-LayerNorm blocks.
  const headDims = ["batch", heads, "seq", hd];
  const toHeads = (t: string) => f.o("Transpose", [f.o("Reshape", [t, bthh])], { perm: [0, 2, 1, 3] });
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const b = `${p}.encoder.layer.${l}`;
    const [q, k, v] = ["query", "key", "value"].map((n) => toHeads(linear(`${b}.attention.self.${n}`, x))) as [string, string, string];
    save(q, `saved.${l}.q`, headDims);
    save(k, `saved.${l}.k`, headDims);
    save(v, `saved.${l}.v`, headDims);
    const probs = f.o(
      "Softmax",
      [f.o("Add", [f.o("Mul", [f.o("MatMul", [q, f.o("Transpose", [k], { perm: [0, 1, 3, 2] })]), f.scalar(scale)]), sources.attentionBias])],
      { axis: -1 },
    );
    save(probs, `saved.${l}.probs`, ["batch", heads, "seq", "seq"]);
    const context = f.o("Reshape", [f.o("Transpose", [f.o("MatMul", [probs, v])], { perm: [0, 2, 1, 3] }), f.ints([-1, H])]);
    save(context, `saved.${l}.context`, [TOKENS, H]);
    x = layerNorm(`${b}.attention.output.LayerNorm`, f.o("Add", [drop(`${l}.attn`, linear(`${b}.attention.output.dense`, context)), x]), `${l}.attn`);
    const pre = linear(`${b}.intermediate.dense`, x);
    save(pre, `saved.${l}.fc`, [TOKENS, I]);
    const act = onnxActivation(f, config.hidden_act, pre);
    save(act, `saved.${l}.act`, [TOKENS, I]);
    x = layerNorm(`${b}.output.LayerNorm`, f.o("Add", [drop(`${l}.out`, linear(`${b}.output.dense`, act)), x]), `${l}.out`);
  }
  return { x, bth, linear, ...saver };
}

export type EncoderForward = ReturnType<typeof encoderForward>;

/**
 * The classifier head after `encoderForward` (bertForward's step 3): pooling as one
 * weighted sum Σ_t w_t·x_t, the tanh pooler, dropout at "head" when training with
 * dropout, the classifier. Returns the [B, num_labels] outputs; training saves the pooled
 * (and pooler) values the backward graph reads.
 */
export function classifierForward(f: GraphBuilder, config: BertConfig, mode: ForwardMode, enc: EncoderForward, sources: ForwardSources): string {
  const p = bertPrefix(config);
  const H = config.hidden_size;
  const pooled = f.o("Reshape", [f.o("MatMul", [f.o("Unsqueeze", [sources.poolWeights, f.ints([1])]), f.o("Reshape", [enc.x, enc.bth])]), f.ints([-1, H])]); // [B, H]
  enc.save(pooled, "saved.pooled", ["batch", H]);
  let first = pooled;
  if (config.add_pooling_layer) {
    first = f.o("Tanh", [enc.linear(`${p}.pooler.dense`, pooled)]);
    enc.save(first, "saved.pooler", ["batch", H]);
  }
  return enc.linear("classifier", mode.train && mode.dropout ? f.o("Mul", [first, "dropout.head"]) : first);
}
