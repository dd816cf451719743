import type { Gpt2Model } from "../io/gpt2-dir.ts";
import { AdamW, clipGradNorm } from "../engine/adamw.ts";
import { OnnxGpt2Engine, type EngineOptions } from "../engine/gpt2-engine.ts";
import { engineRolloutStats } from "../engine/rollout-stats.ts";
import { nextTokenTargets, packedAsBatch, ppoLossGrad } from "../engine/ppo-loss.ts";
import { disposeParams } from "../models/params.ts";
import type { PackedBatch } from "./batch.ts";
import type { PpoConfig } from "./config.ts";
import { checkReference, PpoStepper, PpoTrainer, type MinibatchData, type MinibatchReport, type PpoTrainerOptions, type RolloutStats } from "./trainer.ts";
import { bannedLogitBias } from "../generation/banned-tokens.ts";
import type { OnnxGpt2Decoder } from "../onnx/gpt2-session.ts";

/**
 * PPO on the onnxruntime engine (src/engine/): the same step as PpoTrainer (the shared
 * PpoStepper: rewards, GAE, shuffled minibatches, KL controller), with the rollout
 * statistics from the engine's stats graph (no activations kept, rows taken a minibatch
 * at a time) and each minibatch's update as forward graph → ppoLossGrad (the clipped
 * losses' gradient per token, TypeScript) → backward graph → clipGradNorm → AdamW
 * (tf.train.adam's update: no decay, ε = 1e-7). The policy's weights live in the engine
 * as Float32Arrays for the whole training: rollouts generate from them (decoder()), and
 * they are copied into `policy` once, for saving (syncPolicy()).
 */
export class OnnxPpoTrainer extends PpoStepper {
  private constructor(
    policy: Gpt2Model,
    config: PpoConfig,
    options: PpoTrainerOptions,
    private readonly engine: OnnxGpt2Engine,
    private readonly referenceEngine: OnnxGpt2Engine,
    private readonly adam: AdamW,
  ) {
    super(policy, config, options);
  }

  /** The trainer; `options.reference` (tfjs variables) is copied into the engine and disposed, as the trainer owns it. */
  static async create(policy: Gpt2Model, config: PpoConfig, options: PpoTrainerOptions = {}, engineOptions: EngineOptions = {}): Promise<OnnxPpoTrainer> {
    if (!policy.hasValueHead) throw new Error("PPO needs a policy with a value head (load it with valueHead: true)");
    if (options.reference) checkReference(policy, options.reference);
    const source = options.reference ?? policy.params;
    const referenceWeights = new Map<string, Float32Array>();
    for (const [name, v] of policy.params) if (!name.startsWith("v_head.")) referenceWeights.set(name, Float32Array.from((source.get(name) ?? v).dataSync() as Float32Array));
    const logitsBias = options.bannedTokens?.length ? bannedLogitBias(policy.config.vocab_size, options.bannedTokens) : undefined;
    const engine = await OnnxGpt2Engine.fromModel(policy, { ...engineOptions, valueHead: true, ...(logitsBias ? { logitsBias } : {}) });
    const referenceEngine = await OnnxGpt2Engine.create(policy.config, referenceWeights, false, { ...engineOptions, trainable: false, ...(logitsBias ? { logitsBias } : {}) });
    const trainer = new OnnxPpoTrainer(policy, config, options, engine, referenceEngine, new AdamW(engine.weights, { learningRate: config.learningRate }));
    if (options.reference) disposeParams(options.reference);
    return trainer;
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
    clipGradNorm(grads, this.config.maxGradNorm);
    this.adam.step(grads);
    return { policyLoss: loss.policyLoss, valueLoss: loss.valueLoss, clipFraction: loss.clipFraction, approxKl: loss.approxKl };
  }

  /** Generation straight from the engine's weights (its decoder graph takes them as inputs): no export, no copy. */
  async decoder(): Promise<OnnxGpt2Decoder> {
    return this.engine.decoder();
  }

  override async syncPolicy(): Promise<void> {
    this.engine.writeTo(this.policy);
  }

  async dispose(): Promise<void> {
    await this.engine.close();
    await this.referenceEngine.close();
  }
}

/** PPO's trainer on the engine named: onnxruntime (OnnxPpoTrainer) or tfjs (PpoTrainer, the reference). */
export async function createPpoTrainer(engine: "onnx" | "tfjs", policy: Gpt2Model, config: PpoConfig, options: PpoTrainerOptions = {}, engineOptions: EngineOptions = {}): Promise<PpoStepper> {
  return engine === "onnx" ? OnnxPpoTrainer.create(policy, config, options, engineOptions) : new PpoTrainer(policy, config, options);
}
