import { and, asc, desc, eq, inArray, sql, type SQL } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { RUN_KINDS, RUN_STATUSES, trainingRuns, type RunStatus } from "@ranklab/db";
import type { AppEnv, Db } from "../env.ts";
import { ApiError, notFound } from "../errors.ts";
import { adminOnly, anyRole, trainerOnly, trainerOrAdmin } from "../lib/roles.ts";
import { boundedJson, countQuery, idParam, str } from "../lib/schemas.ts";
import { validate } from "../middleware/validate.ts";

/** Which status each status may be reached from. running → requested re-queues a run whose trainer stopped. */
export const ALLOWED_FROM: Record<RunStatus, RunStatus[]> = {
  requested: ["running"],
  running: ["requested"],
  succeeded: ["running"],
  failed: ["requested", "running"],
  cancelled: ["requested", "running"],
};

// `ppo`, the policy-only kind's name before GRPO and DPO, is still taken and stored as `policy` (docs/glossary.md).
const runKind = z.enum([...RUN_KINDS, "ppo"]).transform((kind) => (kind === "ppo" ? "policy" : kind));
const requestRun = z.object({ kind: runKind.default("full") }).strict();
const claimRun = z.object({ trainer: str().trim().min(1).max(128) }).strict();
const updateRun = z
  .object({
    status: z.enum(RUN_STATUSES),
    metrics: boundedJson(z.record(str().max(64), z.number()), { maxDepth: 1, maxChars: 16 * 1024 }).optional(),
    // One line a person reads: what the run trained on, what went live or was refused and why.
    summary: str().max(2000).optional(),
    error: str().max(4000).optional(),
  })
  .strict();
const listQuery = z.object({
  status: z.enum(RUN_STATUSES).optional(),
  limit: countQuery(1, 200, 50),
});

/**
 * Requests a run unless one is already waiting or running, in one INSERT ... SELECT so
 * that two callers at once (cron and a person) cannot both add one. `onlyIf` adds a
 * further SQL condition (the cron trigger's "enough new labels").
 */
export async function requestRunIfIdle(db: Db, requestedBy: string, kind: (typeof RUN_KINDS)[number], onlyIf: SQL = sql`1`) {
  const result = await db.run(sql`
    INSERT INTO training_runs (kind, status, requested_by, requested_at, metrics)
    SELECT ${kind}, 'requested', ${requestedBy}, ${Date.now()}, '{}'
    WHERE NOT EXISTS (SELECT 1 FROM training_runs WHERE status IN ('requested', 'running')) AND (${onlyIf})`);
  if (result.meta.changes === 0) return undefined;
  const [run] = await db.select().from(trainingRuns).where(eq(trainingRuns.id, result.meta.last_row_id));
  return run;
}

export const trainingRunRoutes = new Hono<AppEnv>()
  /** A person asks for a run now; 409 while one is already waiting or running. */
  .post("/", adminOnly, validate("json", requestRun), async (c) => {
    const run = await requestRunIfIdle(c.get("db"), c.get("role"), c.req.valid("json").kind);
    if (!run) throw new ApiError(409, "conflict", "a training run is already requested or running");
    return c.json(run, 201);
  })
  .get("/", anyRole, validate("query", listQuery), async (c) => {
    const { status, limit } = c.req.valid("query");
    const items = await c
      .get("db")
      .select()
      .from(trainingRuns)
      .where(status ? eq(trainingRuns.status, status) : undefined)
      .orderBy(desc(trainingRuns.id))
      .limit(limit);
    return c.json({ items });
  })
  /** A trainer takes the oldest requested run; `{run: null}` when there is none. Atomic, so two trainers never take one run. */
  .post("/claim", trainerOnly, validate("json", claimRun), async (c) => {
    const db = c.get("db");
    const oldest = db.select({ id: trainingRuns.id }).from(trainingRuns).where(eq(trainingRuns.status, "requested")).orderBy(asc(trainingRuns.id)).limit(1);
    const [run] = await db
      .update(trainingRuns)
      .set({ status: "running", trainer: c.req.valid("json").trainer, startedAt: new Date() })
      .where(and(inArray(trainingRuns.id, oldest), eq(trainingRuns.status, "requested")))
      .returning();
    return c.json({ run: run ?? null });
  })
  .get("/:id", anyRole, validate("param", idParam), async (c) => {
    const [run] = await c
      .get("db")
      .select()
      .from(trainingRuns)
      .where(eq(trainingRuns.id, c.req.valid("param").id));
    if (!run) throw notFound(`training run ${c.req.valid("param").id}`);
    return c.json(run);
  })
  /** Moves a run along its life cycle; a transition not in ALLOWED_FROM is a 409 and changes nothing. */
  .patch("/:id", trainerOrAdmin, validate("param", idParam), validate("json", updateRun), async (c) => {
    const db = c.get("db");
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const now = new Date();
    const finished = body.status === "succeeded" || body.status === "failed" || body.status === "cancelled";
    const [run] = await db
      .update(trainingRuns)
      .set({
        status: body.status,
        ...(body.metrics ? { metrics: body.metrics } : {}),
        ...(body.error !== undefined ? { error: body.error } : {}),
        ...(body.summary !== undefined ? { summary: body.summary } : {}),
        ...(finished ? { finishedAt: now } : {}),
        ...(body.status === "requested" ? { trainer: null, startedAt: null } : {}),
      })
      .where(and(eq(trainingRuns.id, id), inArray(trainingRuns.status, ALLOWED_FROM[body.status])))
      .returning();
    if (run) return c.json(run);
    const [current] = await db.select().from(trainingRuns).where(eq(trainingRuns.id, id));
    if (!current) throw notFound(`training run ${id}`);
    throw new ApiError(409, "conflict", `training run ${id} is ${current.status}; it cannot become ${body.status}`);
  });
