/**
 * The single source of truth for ranklab's D1 database. drizzle-kit writes the SQL
 * migrations in ../migrations from this file; the Worker, its tests and
 * `wrangler d1 migrations apply` all use those same migrations.
 *
 * Invariants live in the schema, not only in code, so that no client (a buggy bot,
 * a hand-written SQL fix) can break them:
 * - one score per rater and completion (unique index);
 * - a ranking's completions all belong to its prompt (composite foreign keys
 *   through ranking_items.prompt_id);
 * - one ranking per rater and set of completions (unique on the sorted id set);
 * - at most one active checkpoint per kind (partial unique index), and at most one
 *   reference checkpoint per kind (the policy PPO's KL is measured against);
 * - a rejected checkpoint is never active;
 * - one upload in flight per checkpoint, each of its parts recorded once (primary keys).
 *
 * Times are integer milliseconds since the epoch (drizzle's `timestamp_ms`), so
 * lease expiry is a plain integer comparison in SQL.
 */
import { sql } from "drizzle-orm";
import { check, foreignKey, index, integer, primaryKey, real, sqliteTable, text, unique, uniqueIndex } from "drizzle-orm/sqlite-core";

const createdAt = () =>
  integer("created_at", { mode: "timestamp_ms" })
    .notNull()
    .$defaultFn(() => new Date());

export const RATER_ROLES = ["rater", "admin"] as const;
export const CHECKPOINT_KINDS = ["policy", "reward"] as const;
export const CHECKPOINT_STATUSES = ["pending", "ready"] as const;
export const RUN_STATUSES = ["requested", "running", "succeeded", "failed", "cancelled"] as const;
/**
 * What a training run trains: `full` the reward model then the policy, `reward` the reward
 * model alone, `policy` the policy alone with the live reward model (whichever
 * policy.algorithm). `policy` was called `ppo` before migration 0009; the API still takes `ppo`.
 */
export const RUN_KINDS = ["reward", "policy", "full"] as const;
export const LABEL_SOURCES = ["telegram", "web", "terminal", "import"] as const;

/** Who labels: a Telegram user (`tg:<id>`) or a web login (`web:<name>`). */
export const raters = sqliteTable("raters", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  externalId: text("external_id").notNull().unique(),
  displayName: text("display_name"),
  role: text("role", { enum: RATER_ROLES }).notNull().default("rater"),
  blocked: integer("blocked", { mode: "boolean" }).notNull().default(false),
  createdAt: createdAt(),
});

/**
 * A login for the web page: the token is shown once to the admin who made it and
 * stored only as its SHA-256, so a database leak does not leak logins. The page's
 * rater is the same rater as on Telegram when the admin made the login for them.
 */
export const webLogins = sqliteTable(
  "web_logins",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    raterId: integer("rater_id")
      .notNull()
      .references(() => raters.id),
    tokenSha256: text("token_sha256").notNull().unique(),
    label: text("label"),
    createdAt: createdAt(),
    revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
    /** A login good for one page session only (the link `npm start` prints): `usedAt` is set when it is exchanged. */
    singleUse: integer("single_use", { mode: "boolean" }).notNull().default(false),
    usedAt: integer("used_at", { mode: "timestamp_ms" }),
  },
  (t) => [index("web_logins_rater").on(t.raterId), check("web_logins_sha256_hex", sql`length(${t.tokenSha256}) = 64`)],
);

/**
 * A page session: what the page's cookie holds is a random session id (never the login
 * token), stored only as its SHA-256, with a server-side expiry; logging out ends it
 * here, so a copied cookie stops working too. Revoking the login or blocking the rater
 * ends it as well (checked on every request).
 */
export const webSessions = sqliteTable(
  "web_sessions",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    sessionSha256: text("session_sha256").notNull().unique(),
    loginId: integer("login_id")
      .notNull()
      .references(() => webLogins.id),
    raterId: integer("rater_id")
      .notNull()
      .references(() => raters.id),
    createdAt: createdAt(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    endedAt: integer("ended_at", { mode: "timestamp_ms" }),
  },
  (t) => [index("web_sessions_login").on(t.loginId), check("web_sessions_sha256_hex", sql`length(${t.sessionSha256}) = 64`)],
);

/**
 * The labeler bot's per-chat state (a rank in progress, the message being edited),
 * kept here rather than in the bot's memory so that it survives a bot restart. The
 * bot reads and writes it as opaque JSON by key.
 */
export const botSessions = sqliteTable("bot_sessions", {
  key: text("key").primaryKey(),
  value: text("value", { mode: "json" }).$type<unknown>().notNull(),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" })
    .notNull()
    .$defaultFn(() => new Date()),
});

export const prompts = sqliteTable("prompts", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  // Unique so that a bulk import run twice adds nothing the second time.
  text: text("text").notNull().unique(),
  source: text("source").notNull().default("manual"),
  active: integer("active", { mode: "boolean" }).notNull().default(true),
  createdAt: createdAt(),
});

export const checkpoints = sqliteTable(
  "checkpoints",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    kind: text("kind", { enum: CHECKPOINT_KINDS }).notNull(),
    version: integer("version").notNull(),
    sha256: text("sha256").notNull(),
    sizeBytes: integer("size_bytes").notNull(),
    r2Key: text("r2_key").notNull().unique(),
    status: text("status", { enum: CHECKPOINT_STATUSES }).notNull().default("pending"),
    active: integer("active", { mode: "boolean" }).notNull().default(false),
    // Why the trainer's gate refused it (worse held-out accuracy, KL over budget, …); null when it passed.
    // A rejected checkpoint keeps its file and metrics, so it can be inspected, but never goes live.
    rejectedReason: text("rejected_reason"),
    // The policy the loop started from: PPO's KL is measured and penalised against it in every run.
    reference: integer("reference", { mode: "boolean" }).notNull().default(false),
    metrics: text("metrics", { mode: "json" }).$type<Record<string, number>>().notNull().default({}),
    config: text("config", { mode: "json" }).$type<Record<string, unknown>>().notNull().default({}),
    trainingRunId: integer("training_run_id").references(() => trainingRuns.id),
    createdAt: createdAt(),
    activatedAt: integer("activated_at", { mode: "timestamp_ms" }),
  },
  (t) => [
    unique("checkpoints_kind_version").on(t.kind, t.version),
    unique("checkpoints_kind_sha256").on(t.kind, t.sha256),
    // At most one active checkpoint per kind, enforced by SQLite itself.
    uniqueIndex("checkpoints_one_active_per_kind").on(t.kind).where(sql`${t.active} = 1`),
    uniqueIndex("checkpoints_one_reference_per_kind").on(t.kind).where(sql`${t.reference} = 1`),
    check("checkpoints_sha256_hex", sql`length(${t.sha256}) = 64`),
    check("checkpoints_active_is_ready", sql`${t.active} = 0 OR ${t.status} = 'ready'`),
    check("checkpoints_rejected_not_active", sql`${t.active} = 0 OR ${t.rejectedReason} IS NULL`),
  ],
);

/**
 * A checkpoint archive arriving in parts through R2's multipart API (Cloudflare refuses
 * request bodies over 100 MB). One upload per checkpoint at a time; the row outlives a
 * crashed trainer, so the next try resumes with the parts already stored. It is deleted
 * when the upload completes or is aborted.
 */
export const checkpointUploads = sqliteTable(
  "checkpoint_uploads",
  {
    checkpointId: integer("checkpoint_id")
      .primaryKey()
      .references(() => checkpoints.id, { onDelete: "cascade" }),
    // R2's id for the multipart upload (resumeMultipartUpload needs it with the key).
    uploadId: text("upload_id").notNull(),
    // Fixed when the upload starts, so a changed CHECKPOINT_PART_BYTES never splits one archive two ways.
    partSize: integer("part_size").notNull(),
    partCount: integer("part_count").notNull(),
    createdAt: createdAt(),
  },
  (t) => [check("checkpoint_uploads_part_size", sql`${t.partSize} > 0 AND ${t.partCount} > 0`)],
);

/** The parts of an upload that R2 holds, each checked against its sha256 as it arrived. */
export const checkpointUploadParts = sqliteTable(
  "checkpoint_upload_parts",
  {
    checkpointId: integer("checkpoint_id")
      .notNull()
      .references(() => checkpointUploads.checkpointId, { onDelete: "cascade" }),
    // 1-based, as R2 numbers parts.
    partNumber: integer("part_number").notNull(),
    sha256: text("sha256").notNull(),
    sizeBytes: integer("size_bytes").notNull(),
    etag: text("etag").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.checkpointId, t.partNumber] }),
    check("checkpoint_upload_parts_number", sql`${t.partNumber} >= 1`),
    check("checkpoint_upload_parts_sha256_hex", sql`length(${t.sha256}) = 64`),
  ],
);

export const completions = sqliteTable(
  "completions",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    promptId: integer("prompt_id")
      .notNull()
      .references(() => prompts.id),
    text: text("text").notNull(),
    // The policy checkpoint that wrote it; null for completions imported from elsewhere.
    checkpointId: integer("checkpoint_id").references(() => checkpoints.id),
    generation: text("generation", { mode: "json" }).$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [
    // Target of ranking_items' composite foreign key: (completion, prompt) must match.
    unique("completions_id_prompt").on(t.id, t.promptId),
    index("completions_prompt").on(t.promptId),
  ],
);

export const leases = sqliteTable("leases", {
  // A random token: whoever holds it may acknowledge the lease.
  id: text("id").primaryKey(),
  holder: text("holder").notNull(),
  createdAt: createdAt(),
  expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
  ackedAt: integer("acked_at", { mode: "timestamp_ms" }),
  // A trainer gives labels back before the lease expires when it cannot use them yet (too few to train).
  releasedAt: integer("released_at", { mode: "timestamp_ms" }),
  releaseReason: text("release_reason"),
  scoreCount: integer("score_count").notNull(),
  rankingCount: integer("ranking_count").notNull(),
});

/**
 * Lease columns shared by both label tables. A label is in the pool when it is not
 * trained and either never leased or its lease has expired; taking it is one
 * UPDATE ... RETURNING, which SQLite runs atomically, so two trainers never hold it.
 */
const leaseColumns = () => ({
  leaseId: text("lease_id").references(() => leases.id),
  leaseExpiresAt: integer("lease_expires_at", { mode: "timestamp_ms" }),
  trainedAt: integer("trained_at", { mode: "timestamp_ms" }),
});

export const scores = sqliteTable(
  "scores",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    raterId: integer("rater_id")
      .notNull()
      .references(() => raters.id),
    completionId: integer("completion_id")
      .notNull()
      .references(() => completions.id),
    // The seed's human reward, 0.0–1.0; the bot shows 1–5 and stores (n-1)/4.
    value: real("value").notNull(),
    source: text("source", { enum: LABEL_SOURCES }).notNull(),
    createdAt: createdAt(),
    ...leaseColumns(),
  },
  (t) => [
    uniqueIndex("scores_one_per_rater_completion").on(t.raterId, t.completionId),
    check("scores_value_unit_interval", sql`${t.value} >= 0 AND ${t.value} <= 1`),
    index("scores_pool").on(t.trainedAt, t.leaseExpiresAt),
    index("scores_completion").on(t.completionId),
  ],
);

export const rankings = sqliteTable(
  "rankings",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    raterId: integer("rater_id")
      .notNull()
      .references(() => raters.id),
    promptId: integer("prompt_id")
      .notNull()
      .references(() => prompts.id),
    // Sorted, comma-joined completion ids: the unordered set this ranking orders.
    completionSet: text("completion_set").notNull(),
    source: text("source", { enum: LABEL_SOURCES }).notNull(),
    createdAt: createdAt(),
    ...leaseColumns(),
  },
  (t) => [
    uniqueIndex("rankings_one_per_rater_set").on(t.raterId, t.completionSet),
    unique("rankings_id_prompt").on(t.id, t.promptId),
    index("rankings_pool").on(t.trainedAt, t.leaseExpiresAt),
    index("rankings_set").on(t.completionSet),
  ],
);

/**
 * One row per place in a ranking; position 0 is the best. `level` is the dense rank
 * (0 best): completions of equal level are ties ("equally good"), and no preference pair
 * is made between them. Without ties, level = position.
 */
export const rankingItems = sqliteTable(
  "ranking_items",
  {
    rankingId: integer("ranking_id").notNull(),
    position: integer("position").notNull(),
    level: integer("level").notNull(),
    promptId: integer("prompt_id").notNull(),
    completionId: integer("completion_id").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.rankingId, t.position] }),
    unique("ranking_items_once_per_ranking").on(t.rankingId, t.completionId),
    // Both keys carry prompt_id, so an item whose completion belongs to another
    // prompt than its ranking cannot be stored.
    foreignKey({
      name: "ranking_items_ranking_fk",
      columns: [t.rankingId, t.promptId],
      foreignColumns: [rankings.id, rankings.promptId],
    }).onDelete("cascade"),
    foreignKey({
      name: "ranking_items_completion_fk",
      columns: [t.completionId, t.promptId],
      foreignColumns: [completions.id, completions.promptId],
    }),
    check("ranking_items_position", sql`${t.position} >= 0`),
    check("ranking_items_level", sql`${t.level} >= 0 AND ${t.level} <= ${t.position}`),
  ],
);

export const trainingRuns = sqliteTable(
  "training_runs",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    kind: text("kind", { enum: RUN_KINDS }).notNull().default("full"),
    status: text("status", { enum: RUN_STATUSES }).notNull().default("requested"),
    // 'cron' or the role that asked ('admin').
    requestedBy: text("requested_by").notNull(),
    trainer: text("trainer"),
    requestedAt: integer("requested_at", { mode: "timestamp_ms" })
      .notNull()
      .$defaultFn(() => new Date()),
    startedAt: integer("started_at", { mode: "timestamp_ms" }),
    finishedAt: integer("finished_at", { mode: "timestamp_ms" }),
    metrics: text("metrics", { mode: "json" }).$type<Record<string, number>>().notNull().default({}),
    // One line a person reads: what the run trained on and what went live or was refused, and why.
    summary: text("summary"),
    error: text("error"),
  },
  (t) => [index("training_runs_status").on(t.status)],
);

export type Rater = typeof raters.$inferSelect;
export type Prompt = typeof prompts.$inferSelect;
export type Completion = typeof completions.$inferSelect;
export type Score = typeof scores.$inferSelect;
export type Ranking = typeof rankings.$inferSelect;
export type Checkpoint = typeof checkpoints.$inferSelect;
export type TrainingRun = typeof trainingRuns.$inferSelect;
/**
 * A reward checkpoint's reward for a completion, posted by the trainer once the checkpoint
 * is live: the API picks the next rank task among the groups whose rewards lie closest
 * together (where the model is least sure), so labels go where they teach it most.
 */
export const completionRewards = sqliteTable(
  "completion_rewards",
  {
    checkpointId: integer("checkpoint_id")
      .notNull()
      .references(() => checkpoints.id),
    completionId: integer("completion_id")
      .notNull()
      .references(() => completions.id),
    reward: real("reward").notNull(),
  },
  (t) => [primaryKey({ columns: [t.checkpointId, t.completionId] })],
);

/**
 * A gold group: a group of one prompt's completions whose true order an admin knows
 * (best first, ties by level, as in a ranking). The trainer's rater-reliability estimate
 * takes raters' judgements of these pairs as evidence with known truth. One gold order
 * per set of completions; its completions all belong to its prompt (composite keys, as
 * for ranking_items).
 */
export const goldGroups = sqliteTable(
  "gold_groups",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    promptId: integer("prompt_id")
      .notNull()
      .references(() => prompts.id),
    // Sorted, comma-joined completion ids, as rankings.completion_set.
    completionSet: text("completion_set").notNull().unique(),
    createdAt: createdAt(),
  },
  (t) => [unique("gold_groups_id_prompt").on(t.id, t.promptId)],
);

/** One row per place in a gold order; position 0 is the best, equal levels tie. */
export const goldGroupItems = sqliteTable(
  "gold_group_items",
  {
    goldGroupId: integer("gold_group_id").notNull(),
    position: integer("position").notNull(),
    level: integer("level").notNull(),
    promptId: integer("prompt_id").notNull(),
    completionId: integer("completion_id").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.goldGroupId, t.position] }),
    unique("gold_group_items_once").on(t.goldGroupId, t.completionId),
    foreignKey({ name: "gold_group_items_group_fk", columns: [t.goldGroupId, t.promptId], foreignColumns: [goldGroups.id, goldGroups.promptId] }).onDelete(
      "cascade",
    ),
    foreignKey({ name: "gold_group_items_completion_fk", columns: [t.completionId, t.promptId], foreignColumns: [completions.id, completions.promptId] }),
    check("gold_group_items_position", sql`${t.position} >= 0`),
    check("gold_group_items_level", sql`${t.level} >= 0 AND ${t.level} <= ${t.position}`),
  ],
);

export type GoldGroup = typeof goldGroups.$inferSelect;
export type Lease = typeof leases.$inferSelect;
export type CheckpointUpload = typeof checkpointUploads.$inferSelect;
export type CheckpointUploadPart = typeof checkpointUploadParts.$inferSelect;
export type CheckpointKind = (typeof CHECKPOINT_KINDS)[number];
export type RunStatus = (typeof RUN_STATUSES)[number];
