import * as tf from "@tensorflow/tfjs";

/**
 * The pairwise rank loss over index pairs into `rewards` [N]:
 * mean over pairs of −log σ(r_better − r_worse) = mean softplus(r_worse − r_better).
 * With `weights` (one per pair, e.g. its rater's reliability), the weighted mean.
 */
export function rankLoss(rewards: tf.Tensor1D, better: Int32Array, worse: Int32Array, weights?: Float32Array): tf.Scalar {
  return tf.tidy(() => {
    const diff = tf.sub(tf.gather(rewards, tf.tensor1d(better, "int32")), tf.gather(rewards, tf.tensor1d(worse, "int32")));
    const losses = tf.softplus(tf.neg(diff));
    if (!weights) return tf.mean(losses) as tf.Scalar;
    const w = tf.tensor1d(weights);
    return tf.div(tf.sum(tf.mul(losses, w)), tf.sum(w)) as tf.Scalar;
  });
}
