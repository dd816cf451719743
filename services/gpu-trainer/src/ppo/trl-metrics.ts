import type { PpoStats } from "./trainer.ts";

/** One PPO epoch's figures as trainPpo records them (train.ts), before trl's names are put on them. */
export interface EpochMetrics extends PpoStats {
  epoch: number;
  /** distinct-2 of the epoch's responses (metrics/diversity.ts): falls when the policy starts repeating itself. */
  distinct2: number;
  seconds: { generation: number; scoring: number; optimisation: number };
}

/**
 * A PPO step's metrics under trl's names (0.7, the tutorial's version), each meaning what
 * trl means by it; the JSONL log, policy checkpoints' metrics and training runs all use
 * these keys. A healthy run: env/reward_mean rises; objective/kl grows then levels off
 * near the KL target; entropy falls slowly (a collapse to ~0, or samples/distinct_2
 * falling, means the policy repeats itself); clipfrac stays below ~0.2.
 */
export const TRL = {
  rewardMean: "env/reward_mean",
  kl: "objective/kl",
  klCoef: "objective/kl_coef",
  sampleEntropy: "objective/entropy",
  entropy: "ppo/policy/entropy",
  policyLoss: "ppo/loss/policy",
  valueLoss: "ppo/loss/value",
  clipFraction: "ppo/policy/clipfrac",
  approxKl: "ppo/policy/approxkl",
  responseLength: "tokens/responses_len_mean",
  distinct2: "samples/distinct_2",
} as const;

export function trlMetrics(m: EpochMetrics): Record<string, number> {
  return {
    epoch: m.epoch,
    [TRL.rewardMean]: m.meanReward,
    [TRL.kl]: m.kl,
    [TRL.klCoef]: m.klCoef,
    [TRL.sampleEntropy]: m.sampleEntropy,
    [TRL.entropy]: m.entropy,
    [TRL.policyLoss]: m.policyLoss,
    [TRL.valueLoss]: m.valueLoss,
    [TRL.clipFraction]: m.clipFraction,
    [TRL.approxKl]: m.approxKl,
    [TRL.responseLength]: m.meanResponseLength,
    [TRL.distinct2]: m.distinct2,
    "time/generation": m.seconds.generation,
    "time/scoring": m.seconds.scoring,
    "time/optimization": m.seconds.optimisation,
  };
}
