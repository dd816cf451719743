import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { anyRole } from "../lib/roles.ts";
import { scoreAnswer, scoreRequest } from "../lib/score-schema.ts";
import { validate } from "../middleware/validate.ts";

/** How long the Worker waits for the scorer before answering 503. */
const SCORER_TIMEOUT_MS = 15_000;

/**
 * Reward-model scores for texts from the active reward checkpoint. The Worker
 * validates and forwards to the scorer (services/gpu-trainer, onnxruntime-node) at
 * SCORER_URL; the scorer hot-swaps checkpoints as they are activated.
 */
export const scoringRoutes = new Hono<AppEnv>().post("/", anyRole, validate("json", scoreRequest), async (c) => {
  const url = c.env.SCORER_URL;
  if (!url) throw new ApiError(503, "scoring_unavailable", "no scorer is configured (SCORER_URL)");
  let res: Response;
  try {
    res = await fetch(`${url.replace(/\/$/, "")}/score`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(c.env.SCORER_TOKEN ? { authorization: `Bearer ${c.env.SCORER_TOKEN}` } : {}) },
      body: JSON.stringify(c.req.valid("json")),
      signal: AbortSignal.timeout(SCORER_TIMEOUT_MS),
    });
  } catch (err) {
    throw new ApiError(503, "scoring_unavailable", `the scorer could not be reached (${err instanceof Error ? err.message : String(err)})`);
  }
  if (res.status === 503) throw new ApiError(503, "scoring_unavailable", "no reward checkpoint is active yet");
  if (!res.ok) throw new ApiError(502, "scorer_failed", `the scorer answered ${res.status}`);
  const answer = scoreAnswer.safeParse(await res.json().catch(() => null));
  if (!answer.success) throw new ApiError(502, "scorer_failed", "the scorer's answer was not {scores, checkpoint}");
  return c.json(answer.data);
});
