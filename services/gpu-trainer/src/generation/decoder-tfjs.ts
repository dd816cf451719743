import * as tf from "@tensorflow/tfjs";
import type { Gpt2Model } from "../io/gpt2-dir.ts";
import { gpt2Forward, type KvCache } from "../models/gpt2.ts";
import type { Decoder } from "./generate.ts";

/** The GPT-2 decoder step on tfjs; the cache stays in tfjs tensors between steps. */
export function tfjsDecoder(model: Gpt2Model): Decoder<KvCache> {
  return {
    vocabSize: model.config.vocab_size,
    async forward(ids, mask, positions, batch, cache) {
      const T = ids.length / batch;
      const result = tf.tidy(() => {
        const out = gpt2Forward(model.params, model.config, {
          inputIds: tf.tensor2d(ids, [batch, T], "int32"),
          attentionMask: tf.tensor2d(mask, [batch, mask.length / batch], "int32"),
          positionIds: tf.tensor2d(positions, [batch, T], "int32"),
          ...(cache ? { past: cache } : {}),
        });
        const last = tf.reshape(tf.slice(out.logits, [0, T - 1, 0], [batch, 1, model.config.vocab_size]), [batch, model.config.vocab_size]);
        return { last, present: out.present };
      });
      const lastLogits = (await result.last.data()) as Float32Array;
      result.last.dispose();
      return { lastLogits, cache: result.present };
    },
    dispose(cache) {
      for (const layer of cache) tf.dispose([layer.key, layer.value]);
    },
  };
}
