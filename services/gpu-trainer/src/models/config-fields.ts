import type { z } from "zod";

/**
 * A Hugging Face config field that changes what a model computes and that ranklab does
 * not compute: a checkpoint setting it to anything but `accepts` is refused, naming the
 * field, rather than loaded and silently scored differently from transformers.
 */
export interface UnsupportedField {
  field: string;
  accepts: (value: unknown) => boolean;
  why: string;
}

/** A zod superRefine that adds one issue per unsupported field set (absent fields keep transformers' default). */
export function refuseUnsupported(fields: readonly UnsupportedField[]) {
  return (config: Record<string, unknown>, ctx: z.RefinementCtx): void => {
    for (const { field, accepts, why } of fields) {
      const value = config[field];
      if (value !== undefined && !accepts(value)) ctx.addIssue({ code: "custom", path: [field], message: `${JSON.stringify(value)} is not supported: ${why}` });
    }
  };
}

export const isFalse = (v: unknown) => v === false || v === null;

/** `pruned_heads: {}` (transformers writes it empty): pruned heads change the attention's shapes and are not computed. */
export const PRUNED_HEADS: UnsupportedField = {
  field: "pruned_heads",
  accepts: (v) => v === null || (typeof v === "object" && !Array.isArray(v) && Object.keys(v as object).length === 0),
  why: "ranklab computes every attention head; re-save the model from transformers after pruning to get plain weights",
};
