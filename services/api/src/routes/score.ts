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

/** How long the Worker waits for the scorer's whole answer (headers and body) before giving up; SCORER_TIMEOUT_MS overrides. */
const SCORER_TIMEOUT_MS = 15_000;

const scorerTimeout = (env: AppEnv["Bindings"]) => {
  const ms = Number(env.SCORER_TIMEOUT_MS);
  return Number.isInteger(ms) && ms > 0 ? ms : SCORER_TIMEOUT_MS;
};

/** `work`, or a rejection once `signal` aborts: a body that drips forever still ends at the deadline. */
function beforeDeadline<T>(work: Promise<T>, signal: AbortSignal, ms: number): Promise<T> {
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      const fail = () => reject(new Error(`no whole answer within ${ms} ms`));
      if (signal.aborted) fail();
      signal.addEventListener("abort", fail, { once: true });
    }),
  ]);
}

/**
 * Reward-model scores for texts from the active reward checkpoint. The Worker
 * validates and forwards to the scorer (services/gpu-trainer, onnxruntime-node) at
 * SCORER_URL; the scorer hot-swaps checkpoints as they are activated. One deadline
 * covers the whole exchange; a scorer that fails or stalls mid-answer is a 502.
 */
export const scoringRoutes = new Hono<AppEnv>().post("/", anyRole, validate("json", scoreRequest), async (c) => {
  const url = c.env.SCORER_URL;
  if (!url) throw new ApiError(503, "scoring_unavailable", "no scorer is configured (SCORER_URL)");
  const timeoutMs = scorerTimeout(c.env);
  const deadline = AbortSignal.timeout(timeoutMs);
  let res: Response;
  try {
    res = await fetch(`${url.replace(/\/$/, "")}/score`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(c.env.SCORER_TOKEN ? { authorization: `Bearer ${c.env.SCORER_TOKEN}` } : {}) },
      // Compact JSON of a valid request stays under MAX_SCORE_REQUEST_BYTES, the scorer's own limit.
      body: JSON.stringify(c.req.valid("json")),
      signal: deadline,
    });
  } catch (err) {
    throw new ApiError(503, "scoring_unavailable", `the scorer could not be reached (${err instanceof Error ? err.message : String(err)})`);
  }
  if (res.status === 503) {
    await res.body?.cancel().catch(() => {});
    throw new ApiError(503, "scoring_unavailable", "no reward checkpoint is active yet");
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => {});
    throw new ApiError(502, "scorer_failed", `the scorer answered ${res.status}`);
  }
  let text: string | undefined;
  try {
    text = await beforeDeadline(readAnswer(res, MAX_SCORER_ANSWER_BYTES), deadline, timeoutMs);
  } catch (err) {
    await res.body?.cancel().catch(() => {});
    throw new ApiError(502, "scorer_failed", `the scorer's answer broke off (${err instanceof Error ? err.message : String(err)})`);
  }
  if (text === undefined) throw new ApiError(502, "scorer_failed", `the scorer's answer is larger than ${MAX_SCORER_ANSWER_BYTES} bytes`);
  const { texts } = c.req.valid("json");
  const answer = scoreAnswerFor(texts.length).safeParse(parseJson(text));
  if (!answer.success) {
    const why = answer.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
      .join("; ");
    throw new ApiError(502, "scorer_failed", `the scorer's answer was not {scores, checkpoint} with one finite score per text (${why})`);
  }
  return c.json(answer.data);
});
