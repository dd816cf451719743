import { AdamW, gradClipScale } from "../engine/adamw.ts";
import { groupAdvantages, grpoLossGrad, meanGroupStd } from "../engine/grpo-loss.ts";
import { OnnxGpt2Engine, type EngineOptions } from "../engine/gpt2-engine.ts";
import { engineRolloutStats } from "../engine/rollout-stats.ts";
import { nextTokenTargets, packedAsBatch } from "../engine/ppo-loss.ts";
import { bannedLogitBias } from "../generation/banned-tokens.ts";
import type { Gpt2Weights } from "../io/gpt2-dir.ts";
import type { OnnxGpt2Decoder } from "../onnx/gpt2-session.ts";
import { maskedMean, type Matrix } from "../ppo/advantages.ts";
import { packBatch, selectMatrix, selectRows, type PackedBatch } from "../ppo/batch.ts";
import { seededRandom, shuffled } from "../util/random.ts";
import type { GrpoConfig } from "./config.ts";

/** A GRPO step's figures, named as trl's GRPOTrainer logs them (trl-metrics.ts maps them). */
export interface GrpoStats {
  /** Mean score of the batch. */
  meanReward: number;
  /** Mean over groups of the group's score std. */
  rewardStd: number;
  /** Mean over updates of the per-token k3 KL to the reference. */
  kl: number;
  /** Mean over samples of Σ_t (log π − log π_ref) at sampling time: the same figure as PPO's objective/kl (and the gate's). */
  sequenceKl: number;
  clipRatio: number;
  /** Mean next-token entropy over completion tokens. */
  entropy: number;
  loss: number;
  meanResponseLength: number;
}

/**
 * GRPO on the onnxruntime engine (trl's GRPOTrainer): no value head; a step takes k
 * completions per prompt (consecutive rows), their scores become advantages within each
 * group (groupAdvantages), and `iterations` passes over shuffled minibatches train the
 * clipped ratio objective with β·k3 KL to the fixed reference (grpoLossGrad) through the
 * engine's forward and backward graphs, then gradClipScale and AdamW.
 */
export class OnnxGrpoTrainer {
  private readonly random: () => number;

  private constructor(
    readonly policy: Gpt2Weights,
    readonly config: GrpoConfig,
    private readonly engine: OnnxGpt2Engine,
    private readonly referenceEngine: OnnxGpt2Engine,
    private readonly adam: AdamW,
  ) {
    this.random = seededRandom(config.seed + 1);
  }

  /** `referenceWeights`: the fixed reference's (same architecture); none: a copy of the policy as it starts. */
  static async create(
    policy: Gpt2Weights,
    config: GrpoConfig,
    options: { referenceWeights?: Map<string, Float32Array>; bannedTokens?: readonly number[] } = {},
    engineOptions: EngineOptions = {},
  ): Promise<OnnxGrpoTrainer> {
    const logitsBias = options.bannedTokens?.length ? bannedLogitBias(policy.config.vocab_size, options.bannedTokens) : undefined;
    const engine = await OnnxGpt2Engine.fromStore(policy, { ...engineOptions, valueHead: false, ...(logitsBias ? { logitsBias } : {}) });
    const referenceWeights = options.referenceWeights ?? new Map([...engine.weights].map(([name, w]) => [name, Float32Array.from(w)]));
    for (const [name, w] of engine.weights) {
      if (referenceWeights.get(name)?.length !== w.length)
        throw new Error(
          `GRPO reference: ${name} has ${referenceWeights.get(name)?.length ?? "no"} values, the policy's ${w.length}; the reference must be the same architecture`,
        );
    }
    const referenceEngine = await OnnxGpt2Engine.create(policy.config, referenceWeights, false, {
      ...engineOptions,
      trainable: false,
      ...(logitsBias ? { logitsBias } : {}),
    });
    return new OnnxGrpoTrainer(policy, config, engine, referenceEngine, new AdamW(engine.weights, { learningRate: config.learningRate }));
  }

  /** Old and reference log-probabilities and entropies, [B][T − 1], a minibatch of rows at a time. */
  private rolloutStats(packed: PackedBatch): Promise<{ oldLogprobs: Matrix; refLogprobs: Matrix; entropy: Matrix }> {
    return engineRolloutStats(this.engine, this.referenceEngine, packed, this.config.miniBatchSize);
  }

  /** One GRPO step: `queries`/`responses`/`scores` in groups of `groupSize` consecutive completions of one prompt. */
  async step(queries: readonly (readonly number[])[], responses: readonly (readonly number[])[], scores: readonly number[]): Promise<GrpoStats> {
    const cfg = this.config;
    const n = queries.length;
    if (n === 0 || n % cfg.groupSize !== 0) throw new Error(`GRPO step: ${n} completions are not groups of ${cfg.groupSize}`);
    const packed = packBatch(queries, responses, this.policy.tokenizer.pad);
    const mask = packed.responseMask;

    // 1. Rollout statistics, without gradients.
    const { oldLogprobs, refLogprobs, entropy } = await this.rolloutStats(packed);
    // 2. Advantages within each group (no value head).
    const advantages = groupAdvantages(scores, cfg.groupSize, cfg.advantage, cfg.scaleRewards);
    // 3. Passes over shuffled minibatches.
    let loss = 0;
    let kl = 0;
    let clipRatio = 0;
    let updates = 0;
    for (let it = 0; it < cfg.iterations; it++) {
      const order = shuffled([...Array(n).keys()], this.random);
      for (let start = 0; start < n; start += cfg.miniBatchSize) {
        const idx = order.slice(start, start + cfg.miniBatchSize);
        const mb = selectRows(packed, idx);
        const w = mb.length - 1;
        const forward = await this.engine.forward(packedAsBatch(mb), nextTokenTargets(mb));
        const out = grpoLossGrad(
          forward.targetLogprobs,
          mb.length,
          {
            mask: mb.responseMask,
            oldLogprobs: selectMatrix(oldLogprobs, idx, w),
            refLogprobs: selectMatrix(refLogprobs, idx, w),
            advantages: idx.map((i) => advantages[i]!),
          },
          cfg,
        );
        const grads = await this.engine.backward(forward, out.dLogprobs);
        this.adam.step(grads, gradClipScale(grads, cfg.maxGradNorm).scale);
        loss += out.loss;
        kl += out.kl;
        clipRatio += out.clipRatio;
        updates++;
      }
    }
    const sequenceKl = oldLogprobs.reduce((s, row, i) => s + row.reduce((a, lp, t) => a + mask[i]![t]! * (lp - refLogprobs[i]![t]!), 0), 0) / n;
    return {
      meanReward: scores.reduce((a, b) => a + b, 0) / n,
      rewardStd: meanGroupStd(scores, cfg.groupSize),
      kl: kl / updates,
      sequenceKl,
      clipRatio: clipRatio / updates,
      entropy: maskedMean(entropy, mask),
      loss: loss / updates,
      meanResponseLength: responses.reduce((s, r) => s + r.length, 0) / n,
    };
  }

  /** Rollouts generate straight from the engine's weights (its decoder graph takes them as inputs): no export, no copy. */
  decoder(): Promise<OnnxGpt2Decoder> {
    return this.engine.decoder();
  }

  async dispose(): Promise<void> {
    await this.engine.close();
    await this.referenceEngine.close();
  }
}
