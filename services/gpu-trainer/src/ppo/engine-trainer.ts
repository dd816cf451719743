import type { Gpt2Weights } from "../io/gpt2-dir.ts";
import type { WeightStore } from "../io/weight-store.ts";
import { AdamW, gradClipScale } from "../engine/adamw.ts";
import { OnnxGpt2Engine, type EngineOptions } from "../engine/gpt2-engine.ts";
import { engineRolloutStats } from "../engine/rollout-stats.ts";
import { nextTokenTargets, packedAsBatch, ppoLossGrad } from "../engine/ppo-loss.ts";
import type { PackedBatch } from "./batch.ts";
import type { PpoConfig } from "./config.ts";
import { PpoStepper, type MinibatchData, type MinibatchReport, type PpoTrainerOptions, type RolloutStats } from "./trainer.ts";
import { bannedLogitBias } from "../generation/banned-tokens.ts";
import type { OnnxGpt2Decoder } from "../onnx/gpt2-session.ts";

/**
 * PPO on the onnxruntime engine (src/engine/): the same step as PpoTrainer (the shared
 * PpoStepper: rewards, GAE, shuffled minibatches, KL controller), with the rollout
 * statistics from the engine's stats graph (no activations kept, rows taken a minibatch
 * at a time) and each minibatch's update as forward graph → ppoLossGrad (the clipped
 * losses' gradient per token, TypeScript) → backward graph → gradClipScale → AdamW
 * (tf.train.adam's update: no decay, ε = 1e-7). The policy's weights are its weight store
 * (io/weight-store.ts), trained in place by the engine: rollouts generate from them
 * (decoder()) and the checkpoint is written from them, with no copy and no export between.
 */
export class OnnxPpoTrainer extends PpoStepper<Gpt2Weights> {
  private constructor(
    policy: Gpt2Weights,
    config: PpoConfig,
    options: PpoTrainerOptions,
    private readonly engine: OnnxGpt2Engine,
    private readonly referenceEngine: OnnxGpt2Engine,
    private readonly adam: AdamW,
  ) {
    super(policy, config, options);
  }

  /**
   * The trainer over `policy`'s weight store, which the engine trains in place (so `policy.weights` holds the
   * trained weights at every step, for saving). `referenceWeights`: the frozen reference's store (the same
   * architecture), owned by the trainer from then on; without it, a copy of the policy as it starts (trl's default).
   */
  static async create(
    policy: Gpt2Weights,
    config: PpoConfig,
    options: Omit<PpoTrainerOptions, "reference"> & { referenceWeights?: WeightStore } = {},
    engineOptions: EngineOptions = {},
  ): Promise<OnnxPpoTrainer> {
    if (!policy.hasValueHead) throw new Error("PPO needs a policy with a value head (load it with valueHead: true)");
    const { referenceWeights: given, ...rest } = options;
    const referenceWeights = new Map<string, Float32Array>();
    for (const [name, data] of policy.weights) {
      if (name.startsWith("v_head.")) continue;
      const r = given ? given.get(name) : Float32Array.from(data);
      if (!r || r.length !== data.length)
        throw new Error(
          `PPO reference: ${name} has ${r ? r.length : "no"} values, the policy's has ${data.length}; the reference must be the same architecture`,
        );
      referenceWeights.set(name, r);
    }
    const logitsBias = options.bannedTokens?.length ? bannedLogitBias(policy.config.vocab_size, options.bannedTokens) : undefined;
    const engine = await OnnxGpt2Engine.fromStore(policy, { ...engineOptions, valueHead: true, ...(logitsBias ? { logitsBias } : {}) });
    const referenceEngine = await OnnxGpt2Engine.create(policy.config, referenceWeights, false, {
      ...engineOptions,
      trainable: false,
      ...(logitsBias ? { logitsBias } : {}),
    });
    return new OnnxPpoTrainer(policy, config, rest, engine, referenceEngine, new AdamW(engine.weights, { learningRate: config.learningRate }));
  }

  /** The frozen reference's weights, by Hugging Face name. */
  get referenceWeights(): Map<string, Float32Array> {
    return this.referenceEngine.weights;
  }

  protected async rolloutStats(packed: PackedBatch): Promise<RolloutStats> {
    // A minibatch of rows at a time, each trimmed to its longest row: memory for one chunk's activations.
    const { oldValues, ...rest } = await engineRolloutStats(this.engine, this.referenceEngine, packed, this.config.miniBatchSize);
    return { ...rest, oldValues: oldValues! };
  }

  protected async minibatchUpdate(mb: PackedBatch, data: MinibatchData): Promise<MinibatchReport> {
    const forward = await this.engine.forward(packedAsBatch(mb), nextTokenTargets(mb));
    const loss = ppoLossGrad(forward.targetLogprobs, forward.values!, mb.length, data, this.config);
    const grads = await this.engine.backward(forward, loss.dLogprobs, loss.dValues);
    this.adam.step(grads, gradClipScale(grads, this.config.maxGradNorm).scale);
    return { policyLoss: loss.policyLoss, valueLoss: loss.valueLoss, clipFraction: loss.clipFraction, approxKl: loss.approxKl };
  }

  /** Generation straight from the engine's weights (its decoder graph takes them as inputs): no export, no copy. */
  async decoder(): Promise<OnnxGpt2Decoder> {
    return this.engine.decoder();
  }

  async dispose(): Promise<void> {
    await this.engine.close();
    await this.referenceEngine.close();
  }
}
