import * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import { isFalse, PRUNED_HEADS, refuseUnsupported } from "./config-fields.ts";
import { activate, ACTIVATIONS, attention, layerNorm, linear, paddingBias } from "./layers.ts";
import { get, type ParamSpec, type Params } from "./params.ts";
import { REWARD_INPUTS } from "../reward-model/reward-input.ts";

/**
 * A BERT-style encoder with a head on the first token: one output (a reward model, as
 * trl's RewardTrainer uses AutoModelForSequenceClassification with num_labels=1) or two
 * (a negative/positive sentiment classifier). Config fields and weight names are Hugging
 * Face's (BertForSequenceClassification; ERNIE's `ernie.` prefix and task-type
 * embeddings load too), so a real checkpoint folder such as nghuyong/ernie-3.0-base-zh
 * loads when a user has it.
 */
export const BertConfigSchema = z
  .object({
    model_type: z.enum(["bert", "ernie"]).default("bert"),
    vocab_size: z.number().int().positive(),
    hidden_size: z.number().int().positive(),
    num_hidden_layers: z.number().int().positive(),
    num_attention_heads: z.number().int().positive(),
    intermediate_size: z.number().int().positive(),
    hidden_act: z.enum(ACTIVATIONS).default("gelu"),
    max_position_embeddings: z.number().int().positive(),
    type_vocab_size: z.number().int().positive().default(2),
    layer_norm_eps: z.number().positive().default(1e-12),
    use_task_id: z.boolean().default(false),
    task_type_vocab_size: z.number().int().positive().default(3),
    num_labels: z.number().int().min(1).max(16).default(1),
    // The pooler (dense + tanh on [CLS]) feeds the head when present, as in BertForSequenceClassification.
    add_pooling_layer: z.boolean().default(true),
    // ranklab's own small models: "mean" feeds the head the average of the unpadded
    // tokens instead of [CLS]. A model trained from scratch on a few thousand texts
    // learns a bag of contextual features far sooner than it learns to gather them
    // into [CLS]. Hugging Face checkpoints have no such field and keep "cls"; a model with
    // "mean" is saved as model_type ranklab_bert (io/bert-dir.ts), which transformers refuses
    // unless the README's loading code is registered.
    classifier_pooling: z.enum(["cls", "mean"]).default("cls"),
    // ranklab's own small models: hashed character-bigram embeddings added to each
    // token's (0 = none). Models trained from scratch on Chinese commonly use them
    // (a word is mostly two characters); a pretrained checkpoint has no such table.
    bigram_buckets: z.number().int().min(0).max(32768).default(0),
    // ranklab's: how a (prompt, completion) becomes the model's input (reward-model/reward-input.ts).
    // It changes no weight or layer, only the text fed in; absent in checkpoints from elsewhere.
    reward_input: z.enum(REWARD_INPUTS).optional(),
  })
  .passthrough()
  .refine((c) => c.hidden_size % c.num_attention_heads === 0, { message: "hidden_size must be a multiple of num_attention_heads" })
  .superRefine(
    refuseUnsupported([
      {
        field: "position_embedding_type",
        accepts: (v) => v === "absolute",
        why: "ranklab's encoder adds absolute position embeddings; relative_key/relative_key_query change the attention scores",
      },
      { field: "is_decoder", accepts: isFalse, why: "ranklab's encoder attends both ways; a decoder's causal mask is not computed" },
      { field: "add_cross_attention", accepts: isFalse, why: "ranklab's encoder has no cross-attention layers" },
      PRUNED_HEADS,
    ]),
  );

export type BertConfig = z.infer<typeof BertConfigSchema>;

const prefixOf = (config: BertConfig) => (config.model_type === "ernie" ? "ernie" : "bert");

/** Every parameter with its shape, in Hugging Face names. */
export function bertParamSpecs(config: BertConfig): ParamSpec[] {
  const p = prefixOf(config);
  const H = config.hidden_size;
  const I = config.intermediate_size;
  const specs: ParamSpec[] = [
    { name: `${p}.embeddings.word_embeddings.weight`, shape: [config.vocab_size, H], init: "normal" },
    { name: `${p}.embeddings.position_embeddings.weight`, shape: [config.max_position_embeddings, H], init: "normal" },
    { name: `${p}.embeddings.token_type_embeddings.weight`, shape: [config.type_vocab_size, H], init: "normal" },
    ...(config.use_task_id ? [{ name: `${p}.embeddings.task_type_embeddings.weight`, shape: [config.task_type_vocab_size, H], init: "normal" as const }] : []),
    ...(config.bigram_buckets > 0 ? [{ name: `${p}.embeddings.bigram_embeddings.weight`, shape: [config.bigram_buckets, H], init: "normal" as const }] : []),
    { name: `${p}.embeddings.LayerNorm.weight`, shape: [H], init: "ones" },
    { name: `${p}.embeddings.LayerNorm.bias`, shape: [H], init: "zeros" },
  ];
  const linearSpec = (name: string, out: number, inp: number): ParamSpec[] => [
    { name: `${name}.weight`, shape: [out, inp], init: "normal" },
    { name: `${name}.bias`, shape: [out], init: "zeros" },
  ];
  const norm = (name: string): ParamSpec[] => [
    { name: `${name}.weight`, shape: [H], init: "ones" },
    { name: `${name}.bias`, shape: [H], init: "zeros" },
  ];
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const b = `${p}.encoder.layer.${l}`;
    specs.push(
      ...linearSpec(`${b}.attention.self.query`, H, H),
      ...linearSpec(`${b}.attention.self.key`, H, H),
      ...linearSpec(`${b}.attention.self.value`, H, H),
      ...linearSpec(`${b}.attention.output.dense`, H, H),
      ...norm(`${b}.attention.output.LayerNorm`),
      ...linearSpec(`${b}.intermediate.dense`, I, H),
      ...linearSpec(`${b}.output.dense`, H, I),
      ...norm(`${b}.output.LayerNorm`),
    );
  }
  if (config.add_pooling_layer) specs.push(...linearSpec(`${p}.pooler.dense`, H, H));
  specs.push(...linearSpec("classifier", config.num_labels, H));
  return specs;
}

/** Old TF-converted checkpoints name LayerNorm parameters gamma/beta. */
export function bertWeightAliases(name: string): string[] {
  return [name, name.replace(/LayerNorm\.weight$/, "LayerNorm.gamma").replace(/LayerNorm\.bias$/, "LayerNorm.beta")];
}

export interface BertInputs {
  /** [B, T] */
  inputIds: tf.Tensor2D;
  /** [B, T] */
  attentionMask: tf.Tensor2D;
  /** [B, T], zeros when absent */
  tokenTypeIds?: tf.Tensor2D;
}

function activation(config: BertConfig, x: tf.Tensor): tf.Tensor {
  return activate(config.hidden_act, x);
}

/**
 * Dropout as the forward pass takes it: a rate (tf.dropout's own random masks; 0 is the
 * identity), or the masks themselves, already scaled by 1/(1 − rate), one per site:
 * "emb" after the embeddings' LayerNorm, "L.attn" and "L.out" on block L's attention and
 * feed-forward outputs, "head" before the classifier. The engine's graphs take the same
 * masks as inputs (engine/bert-graphs.ts), so the two can be compared with dropout on.
 */
export type Dropout = number | ((site: string, shape: number[]) => tf.Tensor);

/** Drops units (inverted dropout) at `site`, or the identity with rate 0. */
function dropout(x: tf.Tensor, d: Dropout, site: string): tf.Tensor {
  if (typeof d === "function") return tf.mul(x, d(site, x.shape));
  return d > 0 ? tf.dropout(x, d) : x;
}

/**
 * The head's output for each row: [B, num_labels] (a reward when num_labels = 1,
 * class logits otherwise). Call inside tf.tidy. `layerByLayer` (scoring only, never under a
 * gradient) frees each block's intermediates as soon as the next block has its input.
 */
export function bertForward(params: Params, config: BertConfig, inputs: BertInputs, dropoutRate: Dropout = 0, layerByLayer = false): tf.Tensor2D {
  const p = prefixOf(config);
  const [B, T] = inputs.inputIds.shape;
  const H = config.hidden_size;
  const x = bertEncode(params, config, inputs, dropoutRate, layerByLayer);

  // 3. The first token ([CLS]), or the mean of the tokens, through the pooler, then the head.  [B, num_labels]
  let first: tf.Tensor2D;
  if (config.classifier_pooling === "mean") {
    const mask = tf.reshape(tf.cast(inputs.attentionMask, "float32"), [B, T, 1]);
    first = tf.div(tf.sum(tf.mul(x, mask), 1), tf.maximum(tf.sum(mask, 1), 1)) as tf.Tensor2D; // [B, H]
  } else {
    first = tf.reshape(tf.slice(x, [0, 0, 0], [B, 1, H]), [B, H]) as tf.Tensor2D;
  }
  if (config.add_pooling_layer) first = tf.tanh(linear(params, `${p}.pooler.dense`, first));
  return linear(params, "classifier", dropout(first, dropoutRate, "head") as tf.Tensor2D);
}

/** The multiplier of the bigram hash: a prime above any vocabulary size, so (a, b) ↦ a·P + b is one-to-one before the modulo. */
export const BIGRAM_HASH_PRIME = 100003;

/**
 * Each token's bigram with the next one, hashed to a bucket: (id_t · P + id_{t+1}) mod
 * buckets; the last position pairs with [PAD] (0). [B, T] int32, computed as
 * ((id_t mod n)·(P mod n) mod n + id_{t+1} mod n) mod n so that, with n ≤ 32,768, no
 * intermediate leaves int32.
 */
export function bigramIds(inputIds: tf.Tensor2D, buckets: number): tf.Tensor2D {
  return tf.tidy(() => {
    const [B, T] = inputIds.shape;
    const next = tf.concat([tf.slice(inputIds, [0, 1], [B, T - 1]), tf.zeros([B, 1], "int32")], 1);
    // int32 scalars: a plain JS number would make tfjs upcast to float32.
    const n = tf.scalar(buckets, "int32");
    const aP = tf.mod(tf.mul(tf.mod(inputIds, n), tf.scalar(BIGRAM_HASH_PRIME % buckets, "int32")), n);
    return tf.mod(tf.add(aP, tf.mod(next, n)), n) as tf.Tensor2D;
  });
}

/** The encoder's last hidden states [B, T, H] (embeddings and blocks, no head). Call inside tf.tidy. */
export function bertEncode(params: Params, config: BertConfig, inputs: BertInputs, dropoutRate: Dropout = 0, layerByLayer = false): tf.Tensor3D {
  const p = prefixOf(config);
  const [B, T] = inputs.inputIds.shape;
  const H = config.hidden_size;
  const eps = config.layer_norm_eps;
  if (T > config.max_position_embeddings) throw new Error(`sequence of ${T} tokens exceeds max_position_embeddings ${config.max_position_embeddings}`);

  // 1. Embeddings: word + position + token type (+ ERNIE's task type 0), then LayerNorm.  [B, T, H]
  const flatIds = tf.reshape(inputs.inputIds, [B * T]);
  const words = tf.reshape(tf.gather(get(params, `${p}.embeddings.word_embeddings.weight`), flatIds), [B, T, H]);
  const positions = tf.slice(get(params, `${p}.embeddings.position_embeddings.weight`), [0, 0], [T, H]); // [T, H]
  const typeIds = inputs.tokenTypeIds ?? tf.zeros([B, T], "int32");
  const types = tf.reshape(tf.gather(get(params, `${p}.embeddings.token_type_embeddings.weight`), tf.reshape(typeIds, [B * T])), [B, T, H]);
  let x: tf.Tensor = tf.add(tf.add(words, positions), types);
  if (config.use_task_id) x = tf.add(x, tf.slice(get(params, `${p}.embeddings.task_type_embeddings.weight`), [0, 0], [1, H]));
  if (config.bigram_buckets > 0) {
    const ids = bigramIds(inputs.inputIds, config.bigram_buckets); // [B, T]
    x = tf.add(x, tf.reshape(tf.gather(get(params, `${p}.embeddings.bigram_embeddings.weight`), tf.reshape(ids, [B * T])), [B, T, H]));
  }
  x = dropout(layerNorm(params, `${p}.embeddings.LayerNorm`, x, eps), dropoutRate, "emb");

  // 2. Post-LayerNorm transformer blocks over the padded batch.
  const bias = paddingBias(inputs.attentionMask); // [B, 1, 1, T]
  const block = (l: number, x: tf.Tensor): tf.Tensor => {
    const b = `${p}.encoder.layer.${l}`;
    const flat = tf.reshape(x, [B * T, H]) as tf.Tensor2D;
    const proj = (name: string) => tf.reshape(linear(params, `${b}.attention.self.${name}`, flat), [B, T, H]) as tf.Tensor3D;
    const context = attention(proj("query"), proj("key"), proj("value"), config.num_attention_heads, bias); // [B, T, H]
    const attended = linear(params, `${b}.attention.output.dense`, tf.reshape(context, [B * T, H]) as tf.Tensor2D);
    const mid = layerNorm(params, `${b}.attention.output.LayerNorm`, tf.add(tf.reshape(dropout(attended, dropoutRate, `${l}.attn`), [B, T, H]), x), eps);
    const hidden = activation(config, linear(params, `${b}.intermediate.dense`, tf.reshape(mid, [B * T, H]) as tf.Tensor2D)) as tf.Tensor2D; // [B*T, I]
    const out = linear(params, `${b}.output.dense`, hidden); // [B*T, H]
    return layerNorm(params, `${b}.output.LayerNorm`, tf.add(tf.reshape(dropout(out, dropoutRate, `${l}.out`), [B, T, H]), mid), eps);
  };
  for (let l = 0; l < config.num_hidden_layers; l++) {
    // Scoring needs no gradient, so each block's intermediates (the [B, heads, T, T]
    // attention and the [B·T, intermediate] activations) are freed before the next block
    // starts: peak memory is one block's, not all of an ERNIE-base batch's (issue 14).
    // Training keeps them: the gradient tape needs them.
    const input = x;
    x = layerByLayer ? tf.tidy(() => block(l, input)) : block(l, input);
  }
  return x as tf.Tensor3D;
}
