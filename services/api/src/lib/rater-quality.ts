import { and, asc, eq } from "drizzle-orm";
import { z } from "zod";
import { checkpoints, RATER_ROLES, raters } from "@ranklab/db";
import type { Db } from "../env.ts";
import { ApiError, notFound } from "../errors.ts";

const figure = (what: string) => z.number().nullable().describe(what);

/** One rater as the active reward checkpoint judged them (see gpu-trainer preferences/reliability.ts). */
export const raterQualityRow = z.object({
  raterId: z.number().int(),
  displayName: z.string().nullable(),
  role: z.enum(RATER_ROLES),
  blocked: z.boolean(),
  reliability: figure(
    "estimated probability that this rater orders a pair the true way (one-coin Dawid–Skene); null when the checkpoint has no estimate for them",
  ),
  reliabilityWeight: figure("how much this rater's pairs counted in the checkpoint's training (0.1–1)"),
  judgements: figure("pair judgements the estimate rests on (shared with another rater, or on a gold group); null when not stored"),
  goldJudgements: figure("of those, judgements on gold groups (an admin's known order); null when not stored"),
  heldOutAccuracy: figure("the checkpoint's accuracy on this rater's held-out pairs (labels it never trained on)"),
  heldOutPairs: figure("how many held-out pairs of this rater that accuracy counts"),
});
export type RaterQuality = z.infer<typeof raterQualityRow>;

/** Rater reliability and live agreement from the active reward checkpoint's stored metrics. */
export const raterQualityReport = z.object({
  checkpointId: z.number().int().nullable().describe("the active reward checkpoint the figures come from; null (and every figure null) before one is live"),
  version: z.number().int().nullable(),
  modelRaterTau: figure("Kendall-style tau between the model and the raters on held-out groups several raters ordered"),
  raterRaterTau: figure("Kendall-style tau between raters on the same pairs"),
  sharedPairs: figure("pairs both taus count"),
  raters: z
    .array(raterQualityRow)
    .describe("least reliable first (raters without an estimate last), then by id; every rater for an admin, else only the rater asked about, or none"),
});
export type RaterQualityReport = z.infer<typeof raterQualityReport>;

/** Which raters a caller may see: all (admins), one (a rater looking at themselves), or none (the aggregate only). */
export type RaterScope = { all: true } | { raterId: number } | { none: true };

/**
 * Per-rater reliability and held-out accuracy, with the overall taus, read from the metrics
 * the trainer stored with the active reward checkpoint (`reliability/rater_<id>`,
 * `reliability_weight/rater_<id>`, `reliability_judgements/rater_<id>`,
 * `reliability_gold_judgements/rater_<id>`, `held_out_accuracy/rater_<id>`,
 * `held_out_pairs/rater_<id>`, `agreement/*`). Every rater in scope is listed, with nulls
 * where the checkpoint says nothing about them, so an admin can block a rater before any
 * checkpoint exists.
 * @example const { raters } = await raterQuality(db, { all: true }); // least reliable first
 */
export async function raterQuality(db: Db, scope: RaterScope): Promise<RaterQualityReport> {
  const [active] = await db
    .select({ id: checkpoints.id, version: checkpoints.version, metrics: checkpoints.metrics })
    .from(checkpoints)
    .where(and(eq(checkpoints.kind, "reward"), eq(checkpoints.active, true)))
    .limit(1);
  const m = (active?.metrics ?? {}) as Record<string, unknown>;
  const num = (key: string) => (typeof m[key] === "number" && Number.isFinite(m[key]) ? (m[key] as number) : null);
  const people =
    "none" in scope
      ? []
      : await db
          .select({ raterId: raters.id, displayName: raters.displayName, role: raters.role, blocked: raters.blocked })
          .from(raters)
          .where("raterId" in scope ? eq(raters.id, scope.raterId) : undefined)
          .orderBy(asc(raters.id));
  const rows = people.map((p) => ({
    ...p,
    reliability: num(`reliability/rater_${p.raterId}`),
    reliabilityWeight: num(`reliability_weight/rater_${p.raterId}`),
    judgements: num(`reliability_judgements/rater_${p.raterId}`),
    goldJudgements: num(`reliability_gold_judgements/rater_${p.raterId}`),
    heldOutAccuracy: num(`held_out_accuracy/rater_${p.raterId}`),
    heldOutPairs: num(`held_out_pairs/rater_${p.raterId}`),
  }));
  rows.sort((a, b) => (a.reliability ?? Infinity) - (b.reliability ?? Infinity) || a.raterId - b.raterId);
  return {
    checkpointId: active?.id ?? null,
    version: active?.version ?? null,
    modelRaterTau: num("agreement/model_rater_tau"),
    raterRaterTau: num("agreement/rater_rater_tau"),
    sharedPairs: num("agreement/shared_pairs"),
    raters: rows,
  };
}

/**
 * Blocks or unblocks a rater. `actor` is the rater who asks (the web page's login, the
 * bot's Telegram user): they must be an admin and may not block themselves, so an admin
 * cannot lock every admin out. Without `actor` the caller holds the admin token.
 * A blocked rater's labels are refused, their web logins stop working, and the bot
 * treats them as unknown; their stored labels stay.
 */
export async function setRaterBlocked(db: Db, raterId: number, blocked: boolean, actor?: { id: number; role: string; blocked: boolean }) {
  if (actor) {
    if (actor.role !== "admin" || actor.blocked)
      throw new ApiError(403, "forbidden", `rater ${actor.id} is not an admin; only an admin may block or unblock raters`);
    if (actor.id === raterId && blocked) throw new ApiError(409, "conflict", "an admin cannot block themselves; ask another admin");
  }
  const [rater] = await db.update(raters).set({ blocked }).where(eq(raters.id, raterId)).returning();
  if (!rater) throw notFound(`rater ${raterId}`);
  return rater;
}
