import { Hono } from "hono";
import type { AppEnv } from "./env.ts";
import { API_DOCS } from "./api-docs.ts";
import { onError, onNotFound } from "./errors.ts";
import { limitBody } from "./middleware/body-limit.ts";
import { drainUnreadBody } from "./middleware/drain-body.ts";
import { requireToken } from "./middleware/auth.ts";
import { withDb } from "./middleware/db.ts";
import { openApiDocument, type OpenApiDocument } from "./openapi.ts";
import { botSessionRoutes } from "./routes/bot-sessions.ts";
import { checkpointRoutes } from "./routes/checkpoints.ts";
import { completionRoutes } from "./routes/completions.ts";
import { exportRoutes } from "./routes/exports.ts";
import { goldGroupRoutes } from "./routes/gold-groups.ts";
import { labelRoutes } from "./routes/labels.ts";
import { leaseRoutes } from "./routes/leases.ts";
import { promptRoutes } from "./routes/prompts.ts";
import { rankingRoutes } from "./routes/rankings.ts";
import { raterRoutes } from "./routes/raters.ts";
import { scoreRoutes } from "./routes/scores.ts";
import { scoringRoutes } from "./routes/score.ts";
import { statsRoutes } from "./routes/stats.ts";
import { taskRoutes } from "./routes/tasks.ts";
import { trainingRunRoutes } from "./routes/training-runs.ts";
import { webApi } from "./web/api.ts";
import { labelingPage, STYLE } from "./web/page.ts";
import { pageSecurityHeaders, sameOriginOnly } from "./web/security-headers.ts";

/** JSON bodies above this are refused before they are read (the largest legitimate one, 500 completions, is ~2 MB). */
export const MAX_JSON_BYTES = 4 * 1024 * 1024;

const jsonBodyLimit = limitBody(MAX_JSON_BYTES);

const CHECKPOINT_UPLOAD = /^\/v1\/checkpoints\/\d+\/(file|uploads\/[^/]+\/parts\/\d+)$/;

let openApi: OpenApiDocument | undefined;
const openApiJson = (): OpenApiDocument => (openApi ??= openApiDocument(app, API_DOCS));

export const app = new Hono<AppEnv>()
  .onError(onError)
  .notFound(onNotFound)
  // Outermost: a body left unread by whatever answered is read to its end before the answer goes out.
  .use("*", drainUnreadBody)
  /** Liveness, and the benchmark's ceiling: the cheapest route the Worker can answer. */
  .get("/health", (c) => c.json({ ok: true }))
  // Generated from the routes on first request (the app is complete by then).
  .get("/openapi.json", (c) => c.json(openApiJson()))
  // Every /v1 route needs a bearer token: checked before any body is read, so a stranger's body is never buffered.
  .use("/v1/*", requireToken)
  // Checkpoint files and their parts have their own limits (declared size, part size), checked by their routes.
  .use("/v1/*", (c, next) => (CHECKPOINT_UPLOAD.test(c.req.path) ? next() : jsonBodyLimit(c, next)))
  .use("/v1/*", withDb)
  .route("/v1/prompts", promptRoutes)
  .route("/v1/completions", completionRoutes)
  .route("/v1/raters", raterRoutes)
  .route("/v1/tasks", taskRoutes)
  .route("/v1/scores", scoreRoutes)
  .route("/v1/score", scoringRoutes)
  .route("/v1/rankings", rankingRoutes)
  .route("/v1/exports", exportRoutes)
  .route("/v1/leases", leaseRoutes)
  .route("/v1/labels", labelRoutes)
  .route("/v1/gold-groups", goldGroupRoutes)
  .route("/v1/checkpoints", checkpointRoutes)
  .route("/v1/training-runs", trainingRunRoutes)
  .route("/v1/stats", statsRoutes)
  .route("/v1/bot-sessions", botSessionRoutes)
  // The labeling web page: HTML at /app, its JSON (login cookie, not bearer tokens) under /app/api.
  .get("/", (c) => c.redirect("/app"))
  .use("/app", pageSecurityHeaders)
  .use("/app/*", pageSecurityHeaders)
  .get("/app", (c) => c.html(labelingPage()))
  .get("/app/app.css", (c) => c.body(STYLE, 200, { "content-type": "text/css; charset=utf-8" }))
  .use("/app/api/*", sameOriginOnly, jsonBodyLimit, withDb)
  .route("/app/api", webApi);

/** The whole API's route types, for `hc<AppType>` in the bot and the trainer. */
export type AppType = typeof app;
