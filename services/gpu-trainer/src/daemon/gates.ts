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
export function rewardGate(candidate: HeldOutFigures, active: HeldOutFigures | undefined, options: { tolerance: number; firstModelMinAccuracy: number }): Verdict {
  const fmt = (x: number) => x.toFixed(4);
  if (!active) {
    return candidate.accuracy >= options.firstModelMinAccuracy
      ? { activate: true }
      : { activate: false, reason: `held-out accuracy ${fmt(candidate.accuracy)} on ${candidate.pairs} pairs is below ${fmt(options.firstModelMinAccuracy)}, the first model's minimum` };
  }
  if (active.pairs !== candidate.pairs) throw new Error(`reward gate: candidate scored on ${candidate.pairs} pairs, the active model on ${active.pairs}; they must share the held-out set`);
  return candidate.accuracy >= active.accuracy - options.tolerance
    ? { activate: true }
    : { activate: false, reason: `held-out accuracy ${fmt(candidate.accuracy)} < the active model's ${fmt(active.accuracy)} on the same ${candidate.pairs} pairs (tolerance ${options.tolerance})` };
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
    return { activate: false, reason: `distinct-2 ${figures.distinct2.toFixed(3)} is below ${options.minDistinct2Share} × the reference's ${figures.referenceDistinct2.toFixed(3)}` };
  }
  return { activate: true };
}
