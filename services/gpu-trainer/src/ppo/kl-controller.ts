/** The KL coefficient β: fixed, or adapted toward a target KL (Ziegler et al. 2019, as in trl). */
export interface KlController {
  readonly value: number;
  /** After a batch of `steps` samples whose mean KL to the reference was `kl`. */
  update(kl: number, steps: number): void;
}

export function fixedKl(value: number): KlController {
  return { value, update() {} };
}

/**
 * β ← β · (1 + clip(KL/target − 1, −0.2, 0.2) · steps/horizon): β grows while the policy
 * drifts beyond the target and shrinks while it stays within it.
 */
export function adaptiveKl(initial: number, target: number, horizon: number): KlController {
  let value = initial;
  return {
    get value() {
      return value;
    },
    update(kl: number, steps: number) {
      const error = Math.min(0.2, Math.max(-0.2, kl / target - 1));
      value *= 1 + (error * steps) / horizon;
    },
  };
}
