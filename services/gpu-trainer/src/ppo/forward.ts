import * as tf from "@tensorflow/tfjs";
import { gpt2Forward, type Gpt2Config } from "../models/gpt2.ts";
import type { Params } from "../models/params.ts";
import type { PackedBatch } from "./batch.ts";

export interface PolicyOutputs {
  /** [B, T − 1]: log π(token t + 1 | tokens ≤ t). */
  logprobs: tf.Tensor2D;
  /** [B, T − 1]: the value head at t, the value of the state that generates token t + 1. */
  values?: tf.Tensor2D;
  /** [B, T − 1]: entropy of the next-token distribution at t. */
  entropy: tf.Tensor2D;
}

/**
 * One pass of the policy (or the reference) over packed query + response rows. Call
 * inside tf.tidy. `logitsBias` [V] (banned-tokens.ts) makes the log-probs those of the
 * distribution sampling draws from.
 */
export function policyOutputs(params: Params, config: Gpt2Config, batch: PackedBatch, logitsBias?: Float32Array): PolicyOutputs {
  const B = batch.batch;
  const T = batch.length;
  const V = config.vocab_size;
  const ids = tf.tensor2d(batch.ids, [B, T], "int32");
  const out = gpt2Forward(params, config, {
    inputIds: ids,
    attentionMask: tf.tensor2d(batch.attention, [B, T], "int32"),
    positionIds: tf.tensor2d(batch.positions, [B, T], "int32"),
  });
  const sliced = tf.slice(out.logits, [0, 0, 0], [B, T - 1, V]);
  const logp = tf.logSoftmax(logitsBias ? tf.add(sliced, tf.tensor1d(logitsBias)) : sliced); // [B, T−1, V]
  const next = tf.oneHot(tf.reshape(tf.slice(ids, [0, 1], [B, T - 1]), [B * (T - 1)]), V).reshape([B, T - 1, V]);
  const logprobs = tf.sum(tf.mul(logp, next), -1) as tf.Tensor2D;
  const entropy = tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), -1)) as tf.Tensor2D;
  const values = out.values ? (tf.slice(out.values, [0, 0], [B, T - 1]) as tf.Tensor2D) : undefined;
  return { logprobs, entropy, ...(values ? { values } : {}) };
}
