import { drizzle } from "drizzle-orm/d1";
import { sql } from "drizzle-orm";
import * as schema from "@ranklab/db";
import type { Env } from "./env.ts";
import { requestRunIfIdle } from "./routes/training-runs.ts";

/** Labels that no trainer has trained on yet (leased or not). */
export const untrainedLabels = sql`((SELECT count(*) FROM scores WHERE trained_at IS NULL) + (SELECT count(*) FROM rankings WHERE trained_at IS NULL))`;

/**
 * The cron trigger: asks for a training run once MIN_NEW_LABELS_FOR_RUN labels wait
 * untrained and no run is already requested or running.
 */
export async function onSchedule(env: Env): Promise<{ requested: boolean; runId?: number }> {
  const db = drizzle(env.DB, { schema });
  const min = Number.parseInt(env.MIN_NEW_LABELS_FOR_RUN, 10);
  if (!Number.isInteger(min) || min < 1) throw new Error(`MIN_NEW_LABELS_FOR_RUN must be a positive integer, got "${env.MIN_NEW_LABELS_FOR_RUN}"`);
  const run = await requestRunIfIdle(db, "cron", "full", sql`${untrainedLabels} >= ${min}`);
  if (run) console.log(`api: cron requested training run ${run.id}`);
  return run ? { requested: true, runId: run.id } : { requested: false };
}
