/** A gate's verdict: activate, or publish as rejected with the reason. */
export type Verdict = { activate: true } | { activate: false; reason: string };

export interface HeldOutFigures {
  accuracy: number;
  pairs: number;
}

/**
 * The reward model's gate. Candidate and active model are scored on the same held-out
 * pairs in the same run; the candidate goes live only if it is not worse than the active
 * one by more than `tolerance`. With no active model it must beat chance by a margin.
 */
export function rewardGate(
  candidate: HeldOutFigures,
  active: HeldOutFigures | undefined,
  options: { tolerance: number; firstModelMinAccuracy: number },
): Verdict {
  const fmt = (x: number) => x.toFixed(4);
  if (!active) {
    return candidate.accuracy >= options.firstModelMinAccuracy
      ? { activate: true }
      : {
          activate: false,
          reason: `held-out accuracy ${fmt(candidate.accuracy)} on ${candidate.pairs} pairs is below ${fmt(options.firstModelMinAccuracy)}, the first model's minimum`,
        };
  }
  if (active.pairs !== candidate.pairs)
    throw new Error(`reward gate: candidate scored on ${candidate.pairs} pairs, the active model on ${active.pairs}; they must share the held-out set`);
  return candidate.accuracy >= active.accuracy - options.tolerance
    ? { activate: true }
    : {
        activate: false,
        reason: `held-out accuracy ${fmt(candidate.accuracy)} < the active model's ${fmt(active.accuracy)} on the same ${candidate.pairs} pairs (tolerance ${options.tolerance})`,
      };
}

export interface PolicyFigures {
  /** Mean over fresh samples of Σ_t log π(y_t) − log π_ref(y_t), nats per sample. */
  klToReference: number;
  distinct2: number;
  referenceDistinct2: number;
}

/** The policy's gate: within the KL budget of the reference, and not collapsing onto a few sentences. */
export function policyGate(figures: PolicyFigures, options: { klBudget: number; minDistinct2Share: number }): Verdict {
  if (!(figures.klToReference <= options.klBudget)) {
    return { activate: false, reason: `KL to the reference ${figures.klToReference.toFixed(3)} is over the budget ${options.klBudget}` };
  }
  const floor = options.minDistinct2Share * figures.referenceDistinct2;
  if (figures.distinct2 < floor) {
    return {
      activate: false,
      reason: `distinct-2 ${figures.distinct2.toFixed(3)} is below ${options.minDistinct2Share} × the reference's ${figures.referenceDistinct2.toFixed(3)}`,
    };
  }
  return { activate: true };
}

export interface Improvement {
  /** Mean of candidate − active over the paired samples. */
  meanDifference: number;
  /** Its standard error: sd of the differences / √n. */
  standardError: number;
  samples: number;
  candidateMean: number;
  activeMean: number;
}

/**
 * The paired comparison behind the improvement gate: the two policies' rewards for
 * samples drawn on the same prompts with the same seed, sample i against sample i.
 */
export function pairedImprovement(candidate: readonly number[], active: readonly number[]): Improvement {
  if (candidate.length !== active.length || candidate.length < 2)
    throw new Error(`improvement gate: needs ≥ 2 paired rewards, got ${candidate.length} and ${active.length}`);
  const n = candidate.length;
  const d = candidate.map((c, i) => c - active[i]!);
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const meanDifference = mean(d);
  const variance = d.reduce((s, x) => s + (x - meanDifference) ** 2, 0) / (n - 1);
  return { meanDifference, standardError: Math.sqrt(variance / n), samples: n, candidateMean: mean(candidate), activeMean: mean(active) };
}

/**
 * The policy's improvement gate: the candidate goes live only if its mean reward (the
 * live reward model's, never the gold) beats the active policy's by more than `z`
 * standard errors of the paired difference, a margin this many samples can detect.
 */
export function improvementGate(figures: Improvement, options: { minImprovementZ: number }): Verdict {
  const margin = options.minImprovementZ * figures.standardError;
  const f = (x: number) => x.toFixed(3);
  if (figures.meanDifference > margin) return { activate: true };
  return {
    activate: false,
    reason: `not better than the active policy: mean reward ${f(figures.candidateMean)} vs ${f(figures.activeMean)} on the same ${figures.samples} prompts and seed, difference ${f(figures.meanDifference)} ≤ ${options.minImprovementZ} × its standard error ${f(figures.standardError)}`,
  };
}
