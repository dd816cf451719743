import { z } from "zod";
import { raterQualityReport } from "./lib/rater-quality.ts";
import { scoreAnswer } from "./lib/score-schema.ts";
import type { OpenApiOptions } from "./openapi.ts";
import { runsAnswer } from "./web/runs.ts";
import { INSECURE_SESSION_COOKIE, SESSION_COOKIE } from "./web/session.ts";

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
    loginCookie: {
      type: "apiKey",
      in: "cookie",
      name: SESSION_COOKIE,
      description: `a page session id, set by POST /app/api/login (named ${INSECURE_SESSION_COOKIE} without Secure when the page is served over plain http from a host other than localhost)`,
    },
  },
  security: (path) =>
    path.startsWith("/v1/") ? [{ bearer: [] }] : path.startsWith("/app/api/") && path !== "/app/api/login" ? [{ loginCookie: [] }] : undefined,
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
    "PUT /v1/checkpoints/:id/file": {
      summary: "Upload a checkpoint's archive (tar), checked against its declared size and sha256",
      requestContent: "application/x-tar",
    },
    "GET /v1/checkpoints/:id/file": {
      summary: "Download a checkpoint's archive (a single Range is honoured: 206, or 416 past the end)",
      responseContent: "application/x-tar",
    },
    "POST /v1/checkpoints/:id/uploads": {
      summary: "Start, or resume, an upload of the archive in parts: the upload id, the part size and count, and the parts already stored",
    },
    "PUT /v1/checkpoints/:id/uploads/:uploadId/parts/:n": {
      summary: "One part of the archive, with its sha256 in X-Part-Sha256, checked as it streams into R2",
      requestContent: "application/octet-stream",
    },
    "POST /v1/checkpoints/:id/uploads/:uploadId/complete": {
      summary: "Assemble the parts and check the whole archive's size and sha256; the checkpoint becomes ready",
    },
    "DELETE /v1/checkpoints/:id/uploads/:uploadId": { summary: "Abort an upload in parts" },
    "GET /v1/exports/rankings.tsv": { summary: "Rank lists, one a line, best first, tab-separated", responseContent: "text/tab-separated-values" },
    "GET /v1/exports/pairs.jsonl": { summary: "Preference pairs as JSONL (chosen/rejected)", responseContent: "application/jsonl" },
    "GET /app/api/rankings.tsv": { summary: "The rater's own rank lists as TSV", responseContent: "text/tab-separated-values" },
    "GET /v1/tasks/next": { summary: "The next labeling task for a rater; {task: null} when none is left" },
    "POST /v1/leases": { summary: "Lease unlabeled-for-training labels to a trainer" },
    "GET /v1/stats": {
      summary: "Label counts, agreement, the live reward model's held-out agreement, and rater reliability",
      answer: {
        status: 200,
        description:
          "Among other fields (counts, labelsWaiting, perRater, perPrompt, agreement, rewardModel): raterQuality, every rater's reliability and held-out accuracy from the active reward checkpoint for the admin token; for bot and trainer tokens its raters list is empty (the aggregate only)",
        schema: z.looseObject({ raterQuality: raterQualityReport }),
      },
    },
    "GET /v1/stats/raters/:id": {
      summary: "One rater's counts and agreement (the bot's /stats)",
      answer: {
        status: 200,
        description: "Among other fields: raterQuality, whose raters list holds this rater alone, or every rater when this rater is an admin",
        schema: z.looseObject({ raterId: z.number().int(), raterQuality: raterQualityReport }),
      },
    },
    "PUT /v1/raters/:id/blocked": {
      summary:
        "Block or unblock a rater on behalf of an admin rater (byRaterId; the bot's /block): 403 unless that rater is an admin, 409 for blocking oneself",
    },
    "GET /app/api/raters-quality": {
      summary: "Every rater's reliability and held-out accuracy from the active reward checkpoint (admin raters)",
      answer: { status: 200, description: "The same object as /v1/stats' raterQuality for the admin token", schema: raterQualityReport },
    },
    "PATCH /app/api/raters/:id": { summary: "Block or unblock a rater (admin raters; not oneself)" },
    "GET /app/api/agreement": {
      summary: "Live agreement from the active reward checkpoint (the Dataset tab), for every rater",
      answer: { status: 200, description: "The same object as /app/api/raters-quality, with this rater alone in raters", schema: raterQualityReport },
    },
    "GET /app/api/runs": {
      summary: "Training runs, newest first, with their checkpoints (active, replaced, or rejected and why) and the figures the Runs tab charts (admin raters)",
      answer: { status: 200, description: "At most `limit` runs (1–50, default 20); nextCursor pages on", schema: runsAnswer },
    },
    "POST /v1/gold-groups": {
      summary: "Mark a group's known order (gold): best first, ties by levels, as a ranking; the same set and order again answers 200, another order 409",
      requestExample: { promptId: 3, completionIds: [12, 10, 11, 13], levels: [0, 1, 1, 2] },
    },
    "GET /v1/gold-groups": { summary: "Every gold group, oldest first, paged by id: evidence with known truth for the trainer's rater-reliability estimate" },
    "GET /v1/gold-groups/:id": { summary: "One gold group with its prompt and ordered completions" },
    "DELETE /v1/gold-groups/:id": { summary: "Unmark a gold group; raters' labels of it stay" },
    "GET /v1/labels": { summary: "The label history a trainer learns from, page by page" },
  },
};
