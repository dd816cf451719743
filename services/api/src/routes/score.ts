import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { readCapped } from "../lib/read-capped.ts";
import { anyRole } from "../lib/roles.ts";
import { scoreAnswerFor, scoreRequest } from "../lib/score-schema.ts";
import { validate } from "../middleware/validate.ts";

/** 64 scores and a checkpoint are ~2 KB; an answer larger than this is not read to the end. */
export const MAX_SCORER_ANSWER_BYTES = 64 * 1024;

/** The body as text, or undefined once it passes `max` bytes (the rest is not read). */
async function readAnswer(res: Response, max: number): Promise<string | undefined> {
  if (Number(res.headers.get("content-length") ?? 0) > max) {
    await res.body?.cancel();
    return undefined;
  }
  if (!res.body) return "";
  const { bytes, reader } = await readCapped(res.body, max);
  if (!bytes) {
    await reader.cancel();
    return undefined;
  }
  return new TextDecoder().decode(bytes);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

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
  const text = await readAnswer(res, MAX_SCORER_ANSWER_BYTES);
  if (text === undefined) throw new ApiError(502, "scorer_failed", `the scorer's answer is larger than ${MAX_SCORER_ANSWER_BYTES} bytes`);
  const { texts } = c.req.valid("json");
  const answer = scoreAnswerFor(texts.length).safeParse(parseJson(text));
  if (!answer.success) {
    const why = answer.error.issues.slice(0, 3).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new ApiError(502, "scorer_failed", `the scorer's answer was not {scores, checkpoint} with one finite score per text (${why})`);
  }
  return c.json(answer.data);
});
