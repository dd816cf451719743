import { AdamW, gradClipScale } from "../engine/adamw.ts";
import { dpoLossGrad, perTokenGradient, sequenceLogprobs, type DpoLossGrad } from "../engine/dpo-loss.ts";
import { OnnxGpt2Engine, type EngineOptions } from "../engine/gpt2-engine.ts";
import { nextTokenTargets, packedAsBatch } from "../engine/ppo-loss.ts";
import { sampledKlToReference } from "../engine/rollout-stats.ts";
import { bannedLogitBias } from "../generation/banned-tokens.ts";
import { sampleRollouts } from "../generation/rollout.ts";
import type { Sampling } from "../generation/sampling.ts";
import type { Gpt2Weights } from "../io/gpt2-dir.ts";
import { packBatch, type PackedBatch } from "../ppo/batch.ts";
import type { DpoConfig } from "./config.ts";
import type { TokenPair } from "./pairs.ts";

/** A DPO batch's trl metrics (the loss's gradient left out). */
export type DpoStats = Omit<DpoLossGrad, "dChosen" | "dRejected">;

const statsOf = (l: DpoLossGrad): DpoStats => ({
  loss: l.loss,
  rewardsChosen: l.rewardsChosen,
  rewardsRejected: l.rewardsRejected,
  accuracy: l.accuracy,
  margin: l.margin,
  logpsChosen: l.logpsChosen,
  logpsRejected: l.logpsRejected,
});

/** The reference's sequence log-probabilities of each pair's chosen and rejected completion. */
export interface ReferenceLogprobs {
  chosen: number[];
  rejected: number[];
}

/** Pairs as one packed batch: the chosen rows first, then the rejected rows in the same order. */
function packPairs(pairs: readonly TokenPair[], pad: number): PackedBatch {
  const queries = [...pairs.map((p) => p.query), ...pairs.map((p) => p.query)];
  return packBatch(queries, [...pairs.map((p) => p.chosen), ...pairs.map((p) => p.rejected)], pad);
}

/**
 * DPO on the onnxruntime engine: the policy (no value head) trains, a frozen reference
 * gives each pair's reference log-probabilities once. A step packs a batch's chosen and
 * rejected rows together, runs the forward graph, sums each row's response-token
 * log-probabilities, takes dpoLossGrad's gradient per sequence onto every token of it,
 * and runs the backward graph → gradClipScale → AdamW. Log-probabilities are over the
 * distribution sampling draws from (banned tokens biased off, as PPO and the policy gate
 * measure them).
 */
export class OnnxDpoTrainer {
  private constructor(
    readonly policy: Gpt2Weights,
    readonly config: DpoConfig,
    private readonly engine: OnnxGpt2Engine,
    private readonly referenceEngine: OnnxGpt2Engine,
    private readonly adam: AdamW,
  ) {}

  /** `referenceWeights`: the fixed reference's (same architecture); none: a copy of the policy as it starts. */
  static async create(
    policy: Gpt2Weights,
    config: DpoConfig,
    options: { referenceWeights?: Map<string, Float32Array>; bannedTokens?: readonly number[] } = {},
    engineOptions: EngineOptions = {},
  ): Promise<OnnxDpoTrainer> {
    const logitsBias = options.bannedTokens?.length ? bannedLogitBias(policy.config.vocab_size, options.bannedTokens) : undefined;
    const engine = await OnnxGpt2Engine.fromStore(policy, { ...engineOptions, valueHead: false, ...(logitsBias ? { logitsBias } : {}) });
    const referenceWeights = options.referenceWeights ?? new Map([...engine.weights].map(([name, w]) => [name, Float32Array.from(w)]));
    for (const [name, w] of engine.weights) {
      if (referenceWeights.get(name)?.length !== w.length)
        throw new Error(
          `DPO reference: ${name} has ${referenceWeights.get(name)?.length ?? "no"} values, the policy's ${w.length}; the reference must be the same architecture`,
        );
    }
    const referenceEngine = await OnnxGpt2Engine.create(policy.config, referenceWeights, false, {
      ...engineOptions,
      trainable: false,
      ...(logitsBias ? { logitsBias } : {}),
    });
    return new OnnxDpoTrainer(policy, config, engine, referenceEngine, new AdamW(engine.weights, { learningRate: config.learningRate }));
  }

  /** Sequence log-probabilities of each pair's completions under `engine` (no gradients), a batch at a time. */
  private async logprobsOf(engine: OnnxGpt2Engine, pairs: readonly TokenPair[]): Promise<ReferenceLogprobs> {
    const out: ReferenceLogprobs = { chosen: [], rejected: [] };
    for (let start = 0; start < pairs.length; start += this.config.batchSize) {
      const batch = pairs.slice(start, start + this.config.batchSize);
      const packed = packPairs(batch, this.policy.tokenizer.pad);
      const stats = await engine.stats(packedAsBatch(packed), nextTokenTargets(packed));
      const seq = sequenceLogprobs(stats.targetLogprobs, packed.responseMask, packed.length);
      out.chosen.push(...seq.slice(0, batch.length));
      out.rejected.push(...seq.slice(batch.length));
    }
    return out;
  }

  /** The fixed reference's log-probabilities of every pair: computed once per run, as trl's precompute_ref_log_probs. */
  referenceLogprobs(pairs: readonly TokenPair[]): Promise<ReferenceLogprobs> {
    return this.logprobsOf(this.referenceEngine, pairs);
  }

  /** The policy's metrics on pairs it does not train on (e.g. held-out pairs), against their reference log-probabilities. */
  async evaluate(pairs: readonly TokenPair[], reference: ReferenceLogprobs): Promise<DpoStats> {
    const now = await this.logprobsOf(this.engine, pairs);
    return statsOf(
      dpoLossGrad(
        {
          policyChosen: now.chosen,
          policyRejected: now.rejected,
          referenceChosen: reference.chosen,
          referenceRejected: reference.rejected,
          weights: pairs.map((p) => p.weight),
        },
        this.config.beta,
      ),
    );
  }

  /** One optimiser step on a batch of pairs; `reference` holds their reference log-probabilities in the same order. */
  async step(pairs: readonly TokenPair[], reference: ReferenceLogprobs): Promise<DpoStats> {
    const n = pairs.length;
    const packed = packPairs(pairs, this.policy.tokenizer.pad);
    const forward = await this.engine.forward(packedAsBatch(packed), nextTokenTargets(packed));
    const seq = sequenceLogprobs(forward.targetLogprobs, packed.responseMask, packed.length);
    const loss = dpoLossGrad(
      {
        policyChosen: seq.slice(0, n),
        policyRejected: seq.slice(n),
        referenceChosen: reference.chosen,
        referenceRejected: reference.rejected,
        weights: pairs.map((p) => p.weight),
      },
      this.config.beta,
    );
    const grads = await this.engine.backward(forward, perTokenGradient([...loss.dChosen, ...loss.dRejected], packed.responseMask, packed.length));
    this.adam.step(grads, gradClipScale(grads, this.config.maxGradNorm).scale);
    return statsOf(loss);
  }

  /**
   * KL(π ‖ π_ref) now, in nats per sample, on fresh continuations of `queries` ([CLS] +
   * prompt tokens) drawn from the policy's weights where they train (the engine's decoder:
   * no export): what the policy gate will measure, so a run can stop before passing it.
   */
  async klToReference(queries: readonly (readonly number[])[], sampling: Sampling & { bannedTokens: readonly number[] }): Promise<number> {
    const { responses } = await sampleRollouts(this.policy.tokenizer, await this.engine.decoder(), queries, sampling);
    return sampledKlToReference(this.engine, this.referenceEngine, packBatch(queries, responses, this.policy.tokenizer.pad), 16);
  }

  async dispose(): Promise<void> {
    await this.engine.close();
    await this.referenceEngine.close();
  }
}
