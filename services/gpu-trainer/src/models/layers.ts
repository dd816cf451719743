import * as tf from "@tensorflow/tfjs";
import { get, type Params } from "./params.ts";

/** x [N, in] · Wᵀ [in, out] + b, with W in PyTorch's [out, in] layout. */
export function linear(params: Params, prefix: string, x: tf.Tensor2D): tf.Tensor2D {
  const y = tf.matMul(x, get(params, `${prefix}.weight`), false, true) as tf.Tensor2D;
  const bias = params.get(`${prefix}.bias`);
  return bias ? (tf.add(y, bias) as tf.Tensor2D) : y;
}

/** LayerNorm over the last axis: (x − μ) / √(σ² + ε) · γ + β. */
export function layerNorm(params: Params, prefix: string, x: tf.Tensor, eps: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  const normed = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps)));
  return tf.add(tf.mul(normed, get(params, `${prefix}.weight`)), get(params, `${prefix}.bias`));
}

/** GELU, exact erf form: BERT's "gelu". */
export function geluErf(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}

/** GELU, tanh form: GPT-2's "gelu_new". */
export function geluTanh(x: tf.Tensor): tf.Tensor {
  const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
  return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
}

/**
 * The `hidden_act`/`activation_function` values of Hugging Face configs ranklab computes.
 * "gelu" and "gelu_python" are the exact erf form; "gelu_new", "gelu_fast" and
 * "gelu_pytorch_tanh" (torch's gelu(approximate="tanh")) are one function, the tanh
 * approximation, written three ways. Any other value is refused by the config schemas.
 */
export const ACTIVATIONS = ["gelu", "gelu_python", "gelu_new", "gelu_fast", "gelu_pytorch_tanh", "relu"] as const;
export type Activation = (typeof ACTIVATIONS)[number];

/** Which formula an activation name stands for (shared with the ONNX export). */
export function activationForm(name: Activation): "erf" | "tanh" | "relu" {
  return name === "relu" ? "relu" : name === "gelu" || name === "gelu_python" ? "erf" : "tanh";
}

export function activate(name: Activation, x: tf.Tensor): tf.Tensor {
  const form = activationForm(name);
  return form === "erf" ? geluErf(x) : form === "tanh" ? geluTanh(x) : tf.relu(x);
}

/**
 * Scaled dot-product attention over heads.
 * q, k, v: [B, T, C] → [B, T, C]; `bias` is added to the scores [B|1, 1, T|1, T]
 * (−1e9 where attention is not allowed: padding, or the future for a causal model).
 */
export function attention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, heads: number, bias: tf.Tensor | null): tf.Tensor3D {
  const [B, T, C] = q.shape;
  const Tk = k.shape[1];
  const hd = C / heads;
  const split = (x: tf.Tensor3D, t: number) => tf.transpose(tf.reshape(x, [B, t, heads, hd]), [0, 2, 1, 3]) as tf.Tensor4D; // [B, h, t, hd]
  const context = headAttention(split(q, T), split(k, Tk), split(v, Tk), bias); // [B, h, T, hd]
  return tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [B, T, C]);
}

/**
 * Attention on heads already split: q [B, h, T, hd], k and v [B, h, Tk, hd] → [B, h, T, hd].
 * Scores are q·kᵀ times `scale` (1/√hd unless a config says otherwise).
 */
export function headAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, bias: tf.Tensor | null, scale = 1 / Math.sqrt(q.shape[3])): tf.Tensor4D {
  let scores = tf.mul(tf.matMul(q, k, false, true), scale); // [B, h, T, Tk]
  if (bias) scores = tf.add(scores, bias);
  return tf.matMul(tf.softmax(scores, -1), v) as tf.Tensor4D;
}

/** [B, T] mask of 1/0 → additive bias [B, 1, 1, T] with −1e9 on padding. */
export function paddingBias(attentionMask: tf.Tensor2D): tf.Tensor4D {
  const [B, T] = attentionMask.shape;
  return tf.reshape(tf.mul(tf.sub(1, tf.cast(attentionMask, "float32")), -1e9), [B, 1, 1, T]);
}
