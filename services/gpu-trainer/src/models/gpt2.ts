import * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import { isFalse, PRUNED_HEADS, refuseUnsupported } from "./config-fields.ts";
import { activate, ACTIVATIONS, headAttention, layerNorm } from "./layers.ts";
import { get, type ParamSpec, type Params } from "./params.ts";

/**
 * A GPT-2 causal language model with Hugging Face's config fields and weight names
 * (GPT2LMHeadModel: `transformer.h.0.attn.c_attn.weight`, Conv1D weights in [in, out]
 * layout, the LM head tied to the token embeddings), so a checkpoint folder such as
 * uer/gpt2-chinese-cluecorpussmall loads when a user has it. An optional scalar value
 * head (`v_head.summary`, as trl's AutoModelForCausalLMWithValueHead names it) gives
 * PPO its value estimates.
 */
export const Gpt2ConfigSchema = z
  .object({
    model_type: z.literal("gpt2").default("gpt2"),
    vocab_size: z.number().int().positive(),
    n_positions: z.number().int().positive(),
    n_embd: z.number().int().positive(),
    n_layer: z.number().int().positive(),
    n_head: z.number().int().positive(),
    // null in config.json means 4 × n_embd.
    n_inner: z.number().int().positive().nullable().default(null),
    activation_function: z.enum(ACTIVATIONS).default("gelu_new"),
    layer_norm_epsilon: z.number().positive().default(1e-5),
    // Attention scores are divided by √head_dim (when true, transformers' default) and,
    // when scale_attn_by_inverse_layer_idx is true (as in Stanford CRFM's Mistral GPT-2s), also by layer + 1.
    scale_attn_weights: z.boolean().default(true),
    scale_attn_by_inverse_layer_idx: z.boolean().default(false),
    bos_token_id: z.number().int().nonnegative().optional(),
    eos_token_id: z.number().int().nonnegative().optional(),
    pad_token_id: z.number().int().nonnegative().nullable().optional(),
    tie_word_embeddings: z.boolean().default(true),
  })
  .passthrough()
  .refine((c) => c.n_embd % c.n_head === 0, { message: "n_embd must be a multiple of n_head" })
  // reorder_and_upcast_attn is accepted: it computes the same scores in float32 (for fp16 training), and ranklab computes in float32.
  .superRefine(refuseUnsupported([{ field: "add_cross_attention", accepts: isFalse, why: "ranklab's GPT-2 has no cross-attention layers" }, PRUNED_HEADS]));

export type Gpt2Config = z.infer<typeof Gpt2ConfigSchema>;

const inner = (c: Gpt2Config) => c.n_inner ?? 4 * c.n_embd;

/** Every parameter with its shape, in Hugging Face names; `valueHead` adds trl's `v_head.summary`. */
export function gpt2ParamSpecs(config: Gpt2Config, valueHead = false): ParamSpec[] {
  const d = config.n_embd;
  const specs: ParamSpec[] = [
    { name: "transformer.wte.weight", shape: [config.vocab_size, d], init: "normal" },
    { name: "transformer.wpe.weight", shape: [config.n_positions, d], init: "normal" },
  ];
  const conv = (name: string, inp: number, out: number): ParamSpec[] => [
    { name: `${name}.weight`, shape: [inp, out], init: "normal" },
    { name: `${name}.bias`, shape: [out], init: "zeros" },
  ];
  const norm = (name: string): ParamSpec[] => [
    { name: `${name}.weight`, shape: [d], init: "ones" },
    { name: `${name}.bias`, shape: [d], init: "zeros" },
  ];
  for (let l = 0; l < config.n_layer; l++) {
    const b = `transformer.h.${l}`;
    specs.push(
      ...norm(`${b}.ln_1`),
      ...conv(`${b}.attn.c_attn`, d, 3 * d),
      ...conv(`${b}.attn.c_proj`, d, d),
      ...norm(`${b}.ln_2`),
      ...conv(`${b}.mlp.c_fc`, d, inner(config)),
      ...conv(`${b}.mlp.c_proj`, inner(config), d),
    );
  }
  specs.push(...norm("transformer.ln_f"));
  if (!config.tie_word_embeddings) specs.push({ name: "lm_head.weight", shape: [config.vocab_size, d], init: "normal" });
  if (valueHead) specs.push({ name: "v_head.summary.weight", shape: [1, d], init: "normal" }, { name: "v_head.summary.bias", shape: [1], init: "zeros" });
  return specs;
}

/** Keys and values of earlier positions, per layer: [B, heads, past, head_dim]. */
export type KvCache = { key: tf.Tensor4D; value: tf.Tensor4D }[];

export interface Gpt2Inputs {
  /** [B, T] token ids of the new positions. */
  inputIds: tf.Tensor2D;
  /** [B, past + T]: 1 for real tokens, 0 for (left) padding, over the cache and the new positions. */
  attentionMask: tf.Tensor2D;
  /** [B, T]: positions of the new tokens, which skip left padding. */
  positionIds: tf.Tensor2D;
  past?: KvCache;
}

export interface Gpt2Outputs {
  /** [B, T, vocab] next-token logits. */
  logits: tf.Tensor3D;
  /** [B, T] value estimates, when the model has a value head. */
  values?: tf.Tensor2D;
  /** The cache extended by the new positions. */
  present: KvCache;
}

/** The factor on layer `layer`'s attention scores q·kᵀ, as transformers' GPT2Attention computes it. */
export function gpt2AttentionScale(config: Gpt2Config, layer: number): number {
  const headDim = config.n_embd / config.n_head;
  return (config.scale_attn_weights ? 1 / Math.sqrt(headDim) : 1) / (config.scale_attn_by_inverse_layer_idx ? layer + 1 : 1);
}

/** Conv1D as GPT-2 stores it: x [N, in] · W [in, out] + b. */
function conv1d(params: Params, prefix: string, x: tf.Tensor2D): tf.Tensor2D {
  return tf.add(tf.matMul(x, get(params, `${prefix}.weight`)), get(params, `${prefix}.bias`)) as tf.Tensor2D;
}

/**
 * Additive attention bias [B, 1, T, past + T]: a new token at position past + t sees
 * the cache and the new tokens up to itself, and no padding.
 */
export function causalBias(attentionMask: tf.Tensor2D, newTokens: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [B, total] = attentionMask.shape;
    const past = total - newTokens;
    const query = tf.add(tf.range(0, newTokens, 1, "int32"), past).reshape([newTokens, 1]); // [T, 1]
    const key = tf.range(0, total, 1, "int32").reshape([1, total]); // [1, total]
    const future = tf.cast(tf.greater(key, query), "float32"); // [T, total]
    const padding = tf.sub(1, tf.cast(attentionMask, "float32")).reshape([B, 1, 1, total]);
    const blocked = tf.minimum(tf.add(future.reshape([1, 1, newTokens, total]), padding), 1);
    return tf.mul(blocked, -1e9) as tf.Tensor4D;
  });
}

/** The forward pass over new positions, with an optional cache of earlier ones. Call inside tf.tidy. */
export function gpt2Forward(params: Params, config: Gpt2Config, inputs: Gpt2Inputs): Gpt2Outputs {
  const [B, T] = inputs.inputIds.shape;
  const d = config.n_embd;
  const heads = config.n_head;
  const hd = d / heads;
  const eps = config.layer_norm_epsilon;
  const act = (x: tf.Tensor) => activate(config.activation_function, x);

  // 1. Token + position embeddings.  [B, T, d]
  const wte = get(params, "transformer.wte.weight");
  const tokens = tf.reshape(tf.gather(wte, tf.reshape(inputs.inputIds, [B * T])), [B, T, d]);
  const positions = tf.reshape(tf.gather(get(params, "transformer.wpe.weight"), tf.reshape(inputs.positionIds, [B * T])), [B, T, d]);
  let x: tf.Tensor = tf.add(tokens, positions);

  // 2. Pre-LayerNorm blocks; each layer's keys and values join the cache.
  const bias = causalBias(inputs.attentionMask, T); // [B, 1, T, past + T]
  const present: KvCache = [];
  for (let l = 0; l < config.n_layer; l++) {
    const b = `transformer.h.${l}`;
    const h = tf.reshape(layerNorm(params, `${b}.ln_1`, x, eps), [B * T, d]) as tf.Tensor2D;
    const qkv = conv1d(params, `${b}.attn.c_attn`, h); // [B*T, 3d]
    const [q, k, v] = tf.split(qkv, 3, 1).map((t) => tf.transpose(tf.reshape(t, [B, T, heads, hd]), [0, 2, 1, 3]) as tf.Tensor4D); // [B, h, T, hd]
    const past = inputs.past?.[l];
    const key = past ? (tf.concat([past.key, k!], 2) as tf.Tensor4D) : k!; // [B, h, past+T, hd]
    const value = past ? (tf.concat([past.value, v!], 2) as tf.Tensor4D) : v!;
    present.push({ key, value });
    const context = tf.reshape(tf.transpose(headAttention(q!, key, value, bias, gpt2AttentionScale(config, l)), [0, 2, 1, 3]), [B, T, d]); // [B, T, d]
    x = tf.add(x, tf.reshape(conv1d(params, `${b}.attn.c_proj`, tf.reshape(context, [B * T, d]) as tf.Tensor2D), [B, T, d]));
    const h2 = tf.reshape(layerNorm(params, `${b}.ln_2`, x, eps), [B * T, d]) as tf.Tensor2D;
    const mlp = conv1d(params, `${b}.mlp.c_proj`, act(conv1d(params, `${b}.mlp.c_fc`, h2)) as tf.Tensor2D);
    x = tf.add(x, tf.reshape(mlp, [B, T, d]));
  }

  // 3. Final LayerNorm, the LM head (tied: logits = h · wteᵀ), and the value head.
  const hidden = tf.reshape(layerNorm(params, "transformer.ln_f", x, eps), [B * T, d]) as tf.Tensor2D;
  const head = config.tie_word_embeddings ? wte : get(params, "lm_head.weight");
  const logits = tf.reshape(tf.matMul(hidden, head, false, true), [B, T, config.vocab_size]) as tf.Tensor3D;
  const vW = params.get("v_head.summary.weight");
  const values = vW ? (tf.reshape(tf.add(tf.matMul(hidden, vW, false, true), get(params, "v_head.summary.bias")), [B, T]) as tf.Tensor2D) : undefined;
  return { logits, present, ...(values ? { values } : {}) };
}
