import { scoreAnswer } from "./lib/score-schema.ts";
import type { OpenApiOptions } from "./openapi.ts";
import { LOGIN_COOKIE } from "./web/session.ts";

/**
 * What /openapi.json says beyond the routes and their zod schemas: the title, who may
 * call what, and the bodies that are not JSON. `/v1/score` is the closed loop's public
 * face; the rest is for ranklab's own services (typed by AppType) and for admins.
 */
export const API_DOCS: OpenApiOptions = {
  info: {
    title: "ranklab API",
    version: "1",
    description: "Prompts, completions, human labels (scores and rankings), leases for trainers, checkpoints and reward-model scoring.",
  },
  securitySchemes: {
    bearer: { type: "http", scheme: "bearer", description: "ADMIN_API_TOKEN, BOT_API_TOKEN or TRAINER_API_TOKEN; each route checks the role" },
    loginCookie: { type: "apiKey", in: "cookie", name: LOGIN_COOKIE, description: "set by POST /app/api/login" },
  },
  security: (path) => (path.startsWith("/v1/") ? [{ bearer: [] }] : path.startsWith("/app/api/") && path !== "/app/api/login" ? [{ loginCookie: [] }] : undefined),
  docs: {
    "POST /v1/score": {
      summary: "Score texts with the active reward model",
      requestExample: { texts: ["质量很好，非常满意！", "太差了，再也不买了。"] },
      answer: {
        status: 200,
        description:
          "One score per text (higher is better); the same normalised by the checkpoint's reward mean and standard deviation over its training completions (null when it recorded none); the checkpoint that gave them (id, version, sha256, rewardMean, rewardStd); 503 when no scorer or no reward checkpoint is ready",
        schema: scoreAnswer,
        example: {
          scores: [2.31, -1.87],
          normalizedScores: [1.42, -1.35],
          checkpoint: { id: 3, version: 2, sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", rewardMean: 0.17, rewardStd: 1.51 },
        },
      },
    },
    "GET /health": { summary: "Liveness" },
    "GET /openapi.json": { summary: "This document" },
    "GET /app": { summary: "The labeling web page (HTML)", responseContent: "text/html" },
    "GET /": { summary: "Redirects to /app" },
    "PUT /v1/checkpoints/:id/file": { summary: "Upload a checkpoint's archive (tar), checked against its declared size and sha256", requestContent: "application/x-tar" },
    "GET /v1/checkpoints/:id/file": { summary: "Download a checkpoint's archive (a single Range is honoured: 206, or 416 past the end)", responseContent: "application/x-tar" },
    "POST /v1/checkpoints/:id/uploads": { summary: "Start, or resume, an upload of the archive in parts: the upload id, the part size and count, and the parts already stored" },
    "PUT /v1/checkpoints/:id/uploads/:uploadId/parts/:n": { summary: "One part of the archive, with its sha256 in X-Part-Sha256, checked as it streams into R2", requestContent: "application/octet-stream" },
    "POST /v1/checkpoints/:id/uploads/:uploadId/complete": { summary: "Assemble the parts and check the whole archive's size and sha256; the checkpoint becomes ready" },
    "DELETE /v1/checkpoints/:id/uploads/:uploadId": { summary: "Abort an upload in parts" },
    "GET /v1/exports/rankings.tsv": { summary: "Rank lists, one a line, best first, tab-separated", responseContent: "text/tab-separated-values" },
    "GET /v1/exports/pairs.jsonl": { summary: "Preference pairs as JSONL (chosen/rejected)", responseContent: "application/jsonl" },
    "GET /app/api/rankings.tsv": { summary: "The rater's own rank lists as TSV", responseContent: "text/tab-separated-values" },
    "GET /v1/tasks/next": { summary: "The next labeling task for a rater; {task: null} when none is left" },
    "POST /v1/leases": { summary: "Lease unlabeled-for-training labels to a trainer" },
    "GET /v1/labels": { summary: "The label history a trainer learns from, page by page" },
  },
};
