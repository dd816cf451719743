import * as tf from "@tensorflow/tfjs";
import { bertEncode, type BertConfig, type Dropout } from "../models/bert.ts";
import { activate, layerNorm } from "../models/layers.ts";
import { disposeParams, get, paramsFromStore, type Params, type ParamSpec } from "../models/params.ts";
import type { MaskedBatch, MlmStepper } from "./pretrain-mlm.ts";

/**
 * Masked-LM pretraining in tfjs: the readable reference the engine's graphs
 * (engine/bert-mlm-graphs.ts) are tested against, and the `--engine tfjs` path.
 */

/**
 * The mean cross-entropy of the masked positions' predictions through BertForMaskedLM's
 * head (dense → activation → LayerNorm → the word embeddings, transposed, + bias).
 * `params` holds the encoder's and the head's variables. Call inside tf.tidy or minimize.
 */
export function mlmLoss(params: Params, config: BertConfig, batch: MaskedBatch, dropout: Dropout): tf.Scalar {
  const p = config.model_type === "ernie" ? "ernie" : "bert";
  const H = config.hidden_size;
  const x = bertEncode(
    params,
    config,
    {
      inputIds: tf.tensor2d(batch.inputIds, [batch.batch, batch.length], "int32"),
      attentionMask: tf.tensor2d(batch.attentionMask, [batch.batch, batch.length], "int32"),
    },
    dropout,
  );
  const picked = tf.gather(tf.reshape(x, [batch.batch * batch.length, H]), tf.tensor1d(batch.positions, "int32")) as tf.Tensor2D; // [M, H]
  const dense = tf.add(
    tf.matMul(picked, get(params, "cls.predictions.transform.dense.weight"), false, true),
    get(params, "cls.predictions.transform.dense.bias"),
  );
  const h = layerNorm(params, "cls.predictions.transform.LayerNorm", activate(config.hidden_act, dense), config.layer_norm_eps) as tf.Tensor2D; // [M, H]
  const logits = tf.add(tf.matMul(h, get(params, `${p}.embeddings.word_embeddings.weight`), false, true), get(params, "cls.predictions.bias")); // [M, V]
  const logProbs = tf.logSoftmax(logits);
  return tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(tf.tensor1d(batch.labels, "int32"), config.vocab_size), logProbs), 1))) as tf.Scalar;
}

/**
 * The tfjs stepper: variables made from `weights` (a copy), tf.train.adam over them, and
 * at close() the trained values written back into `weights`' arrays in place.
 */
export function tfjsMlmStepper(config: BertConfig, specs: readonly ParamSpec[], weights: Map<string, Float32Array>, learningRate: number): MlmStepper {
  const params = paramsFromStore(specs, weights);
  const variables = [...params.values()];
  const optimizer = tf.train.adam(learningRate);
  return {
    async step(batch, masks) {
      const dropout: Dropout = masks ? (site, shape) => tf.tensor(masks.get(site)!, shape) : 0;
      const loss = optimizer.minimize(() => mlmLoss(params, config, batch, dropout), true, variables)!;
      const value = (await loss.data())[0]!;
      loss.dispose();
      return value;
    },
    async close() {
      for (const [name, variable] of params) weights.get(name)!.set(variable.dataSync());
      optimizer.dispose();
      disposeParams(params);
    },
  };
}
