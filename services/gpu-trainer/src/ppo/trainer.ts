import * as tf from "@tensorflow/tfjs";
import type { Gpt2Base, Gpt2Model } from "../io/gpt2-dir.ts";
import type { Params } from "../models/params.ts";
import { seededRandom, shuffled } from "../util/random.ts";
import { gae, maskedMean, tokenRewards, type Matrix } from "./advantages.ts";
import { packBatch, selectMatrix, selectRows, type PackedBatch } from "./batch.ts";
import type { PpoConfig } from "./config.ts";
import { policyOutputs } from "./forward.ts";
import { adaptiveKl, fixedKl, type KlController } from "./kl-controller.ts";
import { bannedLogitBias } from "../generation/banned-tokens.ts";
import { tfjsDecoder } from "../generation/decoder-tfjs.ts";
import type { Decoder } from "../generation/generate.ts";

export interface PpoStats {
  /** Mean score of the batch (before the KL penalty). */
  meanReward: number;
  /** Mean over samples of Σ_t (log π − log π_ref): the KL to the reference. */
  kl: number;
  /** Mean next-token entropy over response tokens (trl: ppo/policy/entropy). */
  entropy: number;
  /** Mean over samples of Σ_t −log π(response token t): trl's objective/entropy, a per-sample estimate. */
  sampleEntropy: number;
  /** β after this step's update. */
  klCoef: number;
  policyLoss: number;
  valueLoss: number;
  /** Share of tokens whose ratio was clipped. */
  clipFraction: number;
  /** ½·E[(log π_new − log π_old)²], averaged over every minibatch of every PPO epoch (as trl does). */
  approxKl: number;
  meanResponseLength: number;
}

const rows = (t: tf.Tensor2D) => t.arraySync() as number[][];

export interface PpoTrainerOptions {
  /**
   * The reference's parameters (same config and vocabulary as the policy), owned by the
   * trainer from then on. The loop passes the policy it started from, so KL is measured
   * and penalised against one fixed model over every run; without it, the policy as it
   * starts is copied (trl's default: KL bounded per run only).
   */
  reference?: Params;
  /** β to start from (the loop carries the adaptive controller's value from run to run). */
  klCoef?: number;
  /** The tokens sampling never draws (banned-tokens.ts): log-probs, ratios and KL are taken over the rest, as sampled. */
  bannedTokens?: readonly number[];
}

/** The rollout statistics a PPO step starts from, [B][T − 1] each (see policyOutputs). */
export interface RolloutStats {
  oldLogprobs: Matrix;
  oldValues: Matrix;
  refLogprobs: Matrix;
  entropy: Matrix;
}

/** A minibatch's data for the clipped losses, [B][T − 1] each. */
export interface MinibatchData {
  mask: Matrix;
  oldLogprobs: Matrix;
  oldValues: Matrix;
  advantages: Matrix;
  returns: Matrix;
}

export interface MinibatchReport {
  policyLoss: number;
  valueLoss: number;
  clipFraction: number;
  approxKl: number;
}

/** Checks that a reference has every policy parameter (but the value head's) with the same shape. */
export function checkReference(policy: Gpt2Model, reference: Params): void {
  for (const [name, v] of policy.params) {
    if (name.startsWith("v_head.")) continue;
    const r = reference.get(name);
    if (!r || r.shape.join("×") !== v.shape.join("×"))
      throw new Error(
        `PPO reference: ${name} is ${r ? r.shape.join("×") : "missing"}, the policy's is ${v.shape.join("×")}; the reference must be the same architecture`,
      );
  }
}

/**
 * PPO as trl's PPOTrainer does it: a frozen reference (by default a copy of the initial policy);
 * per-token rewards −β·KL plus the score on the last token; GAE on the value head's
 * estimates; `ppoEpochs` passes over shuffled minibatches with the clipped policy and
 * value losses; the KL controller updated once per batch. The engines (tfjs here,
 * onnxruntime in engine-trainer.ts) supply the rollout statistics and the minibatch
 * update; everything else is this class's plain arithmetic, shared.
 */
export abstract class PpoStepper<P extends Gpt2Base = Gpt2Base> {
  readonly kl: KlController;
  private readonly random: () => number;
  /** [V]: BANNED_LOGIT_BIAS at the banned tokens, when there are any. */
  protected readonly logitsBias: Float32Array | undefined;

  constructor(
    readonly policy: P,
    readonly config: PpoConfig,
    options: Omit<PpoTrainerOptions, "reference"> = {},
  ) {
    if (!policy.hasValueHead) throw new Error("PPO needs a policy with a value head (load it with valueHead: true)");
    const beta = options.klCoef ?? config.initKlCoef;
    this.kl = config.adaptiveKl ? adaptiveKl(beta, config.targetKl, config.horizon) : fixedKl(beta);
    this.random = seededRandom(config.seed + 1);
    this.logitsBias = options.bannedTokens?.length ? bannedLogitBias(policy.config.vocab_size, options.bannedTokens) : undefined;
  }

  /** Old log-probabilities, values and entropies of the policy, and the reference's log-probabilities, without gradients. */
  protected abstract rolloutStats(packed: PackedBatch): Promise<RolloutStats>;
  /** One optimiser step on a minibatch's clipped losses (gradient norm clipped to maxGradNorm, then Adam). */
  protected abstract minibatchUpdate(mb: PackedBatch, data: MinibatchData): Promise<MinibatchReport>;
  /** A decoder that generates with the policy's current weights (rollouts read it right after a step). */
  abstract decoder(): Promise<Decoder<unknown>>;
  abstract dispose(): void | Promise<void>;

  /** One PPO step on a batch of queries, their responses and the responses' scores. */
  async step(queries: readonly (readonly number[])[], responses: readonly (readonly number[])[], scores: readonly number[]): Promise<PpoStats> {
    const cfg = this.config;
    // Usually batchSize samples; fewer when a person skipped some (the last minibatch is then smaller).
    const n = queries.length;
    if (n === 0 || n > cfg.batchSize) throw new Error(`PPO step: got ${n} samples; the config's batchSize is ${cfg.batchSize}`);
    const packed = packBatch(queries, responses, this.policy.tokenizer.pad);
    const mask = packed.responseMask;
    const score = cfg.whitenScores ? whiten(scores) : [...scores];

    // 1. Rollout statistics, without gradients: old log-probabilities, values, reference log-probabilities.
    const { oldLogprobs, oldValues, refLogprobs, entropy } = await this.rolloutStats(packed);

    // 2. Rewards, advantages and returns (plain arithmetic, advantages.ts).
    const beta = this.kl.value;
    const { rewards } = tokenRewards(score, oldLogprobs, refLogprobs, mask, beta);
    const { advantages, returns } = gae(rewards, oldValues, mask, cfg.gamma, cfg.lambda);
    const klPerSample = oldLogprobs.map((row, i) => row.reduce((s, lp, t) => s + mask[i]![t]! * (lp - refLogprobs[i]![t]!), 0));

    // 3. PPO epochs over shuffled minibatches.
    let policyLoss = 0;
    let valueLoss = 0;
    let clipFraction = 0;
    let approxKl = 0;
    let updates = 0;
    for (let epoch = 0; epoch < cfg.ppoEpochs; epoch++) {
      const order = shuffled([...Array(n).keys()], this.random);
      for (let start = 0; start < n; start += cfg.miniBatchSize) {
        const idx = order.slice(start, start + cfg.miniBatchSize);
        const mb = selectRows(packed, idx);
        const w = mb.length - 1;
        const stats = await this.minibatchUpdate(mb, {
          mask: mb.responseMask,
          oldLogprobs: selectMatrix(oldLogprobs, idx, w),
          oldValues: selectMatrix(oldValues, idx, w),
          advantages: selectMatrix(advantages, idx, w),
          returns: selectMatrix(returns, idx, w),
        });
        updates++;
        policyLoss += stats.policyLoss;
        valueLoss += stats.valueLoss;
        clipFraction += stats.clipFraction;
        approxKl += stats.approxKl;
      }
    }

    // 4. β follows the batch's KL.
    const meanKl = klPerSample.reduce((a, b) => a + b, 0) / klPerSample.length;
    const sampleEntropy = oldLogprobs.reduce((s, row, i) => s - row.reduce((t, lp, j) => t + mask[i]![j]! * lp, 0), 0) / n;
    this.kl.update(meanKl, n);
    return {
      meanReward: scores.reduce((a, b) => a + b, 0) / scores.length,
      kl: meanKl,
      entropy: maskedMean(entropy, mask),
      sampleEntropy,
      klCoef: this.kl.value,
      policyLoss: policyLoss / updates,
      valueLoss: valueLoss / updates,
      clipFraction: clipFraction / updates,
      approxKl: approxKl / updates,
      meanResponseLength: responses.reduce((s, r) => s + r.length, 0) / responses.length,
    };
  }
}

/** PPO on tfjs: the reference path (and the one for tfjs-node-gpu). */
export class PpoTrainer extends PpoStepper<Gpt2Model> {
  readonly reference: Params;
  private readonly optimizer: tf.Optimizer;

  constructor(policy: Gpt2Model, config: PpoConfig, options: PpoTrainerOptions = {}) {
    super(policy, config, options);
    if (options.reference) checkReference(policy, options.reference);
    // The reference is frozen; it needs no value head.
    this.reference =
      options.reference ??
      new Map(
        [...policy.params.entries()]
          .filter(([name]) => !name.startsWith("v_head."))
          .map(([name, v]) => [name, tf.variable(v.clone(), false, `ref/${name}/${Math.random().toString(36).slice(2)}`)]),
      );
    this.optimizer = tf.train.adam(config.learningRate);
  }

  protected async rolloutStats(packed: PackedBatch): Promise<RolloutStats> {
    const [oldLogprobs, oldValues, refLogprobs, entropy] = tf.tidy(() => {
      const now = policyOutputs(this.policy.params, this.policy.config, packed, this.logitsBias);
      const ref = policyOutputs(this.reference, this.policy.config, packed, this.logitsBias);
      return [rows(now.logprobs), rows(now.values!), rows(ref.logprobs), rows(now.entropy)];
    });
    return { oldLogprobs: oldLogprobs!, oldValues: oldValues!, refLogprobs: refLogprobs!, entropy: entropy! };
  }

  protected async minibatchUpdate(mb: PackedBatch, data: MinibatchData): Promise<MinibatchReport> {
    const cfg = this.config;
    const variables = [...this.policy.params.values()];
    let report: MinibatchReport = { policyLoss: 0, valueLoss: 0, clipFraction: 0, approxKl: 0 };
    tf.tidy(() => {
      const M = tf.tensor2d(data.mask);
      const tokens = tf.sum(M);
      const mmean = (x: tf.Tensor) => tf.div(tf.sum(tf.mul(x, M)), tokens);
      const oldLp = tf.tensor2d(data.oldLogprobs);
      const oldV = tf.tensor2d(data.oldValues);
      const adv = tf.tensor2d(data.advantages);
      const ret = tf.tensor2d(data.returns);
      const parts: Record<string, tf.Tensor> = {};
      const { value: loss, grads } = tf.variableGrads(() => {
        const out = policyOutputs(this.policy.params, this.policy.config, mb, this.logitsBias);
        const logRatio = tf.sub(out.logprobs, oldLp);
        const ratio = tf.exp(logRatio);
        const pg1 = tf.mul(tf.neg(adv), ratio);
        const pg2 = tf.mul(tf.neg(adv), tf.clipByValue(ratio, 1 - cfg.clipRange, 1 + cfg.clipRange));
        const pgLoss = mmean(tf.maximum(pg1, pg2));
        const vpred = out.values!;
        const vClipped = tf.add(oldV, tf.clipByValue(tf.sub(vpred, oldV), -cfg.clipRangeValue, cfg.clipRangeValue));
        const vfLoss = tf.mul(0.5, mmean(tf.maximum(tf.square(tf.sub(vpred, ret)), tf.square(tf.sub(vClipped, ret)))));
        parts.pg = tf.keep(pgLoss);
        parts.vf = tf.keep(vfLoss);
        parts.clip = tf.keep(mmean(tf.cast(tf.greater(pg2, pg1), "float32")));
        parts.approx = tf.keep(tf.mul(0.5, mmean(tf.square(logRatio))));
        return tf.add(pgLoss, tf.mul(cfg.vfCoef, vfLoss)) as tf.Scalar;
      }, variables);
      // Clip the global gradient norm before Adam.
      const names = Object.keys(grads);
      const norm = tf.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[n]!)))));
      const scale = tf.minimum(1, tf.div(cfg.maxGradNorm, tf.add(norm, 1e-6)));
      this.optimizer.applyGradients(Object.fromEntries(names.map((n) => [n, tf.mul(grads[n]!, scale)])));
      loss.dispose();
      report = {
        policyLoss: parts.pg!.dataSync()[0]!,
        valueLoss: parts.vf!.dataSync()[0]!,
        clipFraction: parts.clip!.dataSync()[0]!,
        approxKl: parts.approx!.dataSync()[0]!,
      };
      tf.dispose(Object.values(parts));
    });
    return report;
  }

  async decoder(): Promise<Decoder<unknown>> {
    return tfjsDecoder(this.policy);
  }

  dispose(): void {
    for (const v of this.reference.values()) v.dispose();
    this.optimizer.dispose();
  }
}

function whiten(values: readonly number[]): number[] {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(1, values.length - 1)) || 1;
  return values.map((v) => (v - mean) / sd);
}
