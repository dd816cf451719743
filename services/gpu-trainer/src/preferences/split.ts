import type { PreferenceExample } from "./examples.ts";

/**
 * Where a label group goes, decided by a hash of its completion set alone, so a group
 * stays in its split forever: every rater's labels of it, in every run. The held-out
 * set only grows as new groups arrive, and every reward checkpoint can be compared on
 * the same pairs. Validation (for choosing the best step of a run) is kept apart from
 * held-out (for the gate), so the gate's figures are not the ones training selected on.
 */
export const SPLIT_SHARES = { heldOut: 0.2, validation: 0.1 } as const;
export type Split = "train" | "validation" | "heldOut";

/** FNV-1a, 32 bits: stable across runs, machines and Node versions. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

export function splitOf(group: string): Split {
  const bucket = (fnv1a(`ranklab-split:${group}`) % 1000) / 1000;
  if (bucket < SPLIT_SHARES.heldOut) return "heldOut";
  if (bucket < SPLIT_SHARES.heldOut + SPLIT_SHARES.validation) return "validation";
  return "train";
}

export function splitExamples(examples: readonly PreferenceExample[]): Record<Split, PreferenceExample[]> {
  const out: Record<Split, PreferenceExample[]> = { train: [], validation: [], heldOut: [] };
  for (const e of examples) out[splitOf(e.group)].push(e);
  return out;
}
