import type { DrizzleD1Database } from "drizzle-orm/d1";
import type * as schema from "@ranklab/db";

/** The Worker's bindings, as declared in wrangler.toml (vars, D1, R2) plus its secrets. */
export interface Env {
  DB: D1Database;
  CHECKPOINTS: R2Bucket;
  MIN_NEW_LABELS_FOR_RUN: string;
  MAX_CHECKPOINT_BYTES: string;
  /** Bytes per part of a checkpoint upload (5 MiB to 95 MiB: R2's minimum, under Cloudflare's 100 MB body limit). */
  CHECKPOINT_PART_BYTES: string;
  /** Where /v1/score forwards (the scorer in services/gpu-trainer); empty: scoring is off. */
  SCORER_URL?: string;
  SCORER_TOKEN?: string;
  /** How long /v1/score waits for the scorer's whole answer, in ms (default 15000). */
  SCORER_TIMEOUT_MS?: string;
  BOT_API_TOKEN?: string;
  TRAINER_API_TOKEN?: string;
  ADMIN_API_TOKEN?: string;
}

export type Db = DrizzleD1Database<typeof schema>;

/** Who is calling, decided by the bearer token alone (see middleware/auth.ts). */
export type Role = "bot" | "trainer" | "admin";

export interface AppEnv {
  Bindings: Env;
  Variables: { db: Db; role: Role };
}
