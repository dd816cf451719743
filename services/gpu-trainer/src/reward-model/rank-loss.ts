import * as tf from "@tensorflow/tfjs";

/**
 * The pairwise rank loss over index pairs into `rewards` [N]:
 * mean over pairs of −log σ(r_better − r_worse) = mean softplus(r_worse − r_better).
 */
export function rankLoss(rewards: tf.Tensor1D, better: Int32Array, worse: Int32Array): tf.Scalar {
  return tf.tidy(() => {
    const diff = tf.sub(tf.gather(rewards, tf.tensor1d(better, "int32")), tf.gather(rewards, tf.tensor1d(worse, "int32")));
    return tf.mean(tf.softplus(tf.neg(diff))) as tf.Scalar;
  });
}
