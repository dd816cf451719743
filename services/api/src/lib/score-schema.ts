import { z } from "zod";
import { str } from "./schemas.ts";

/**
 * What `/v1/score` takes, and what the scorer's `/score` takes: the Worker validates a
 * request and forwards it as it is, so both sides check the same schema. At most 64
 * texts of 2,000 characters: one scorer batch, answered in well under a second.
 */
export const scoreRequest = z
  .object({
    texts: z.array(str().min(1, "must not be empty").max(2000, "at most 2000 characters")).min(1).max(64),
    prompts: z.array(str().max(2000, "at most 2000 characters")).optional().describe("One per text, when the reward model scores prompt and text as a pair"),
  })
  .strict()
  .refine((b) => !b.prompts || b.prompts.length === b.texts.length, { message: "prompts must have one entry per text", path: ["prompts"] });

/**
 * One score per text (higher is better), the same scores normalised by the checkpoint's
 * own scale ((score − rewardMean) / rewardStd over its training completions, so 1 means
 * one standard deviation better whichever reward model is live; null when the checkpoint
 * recorded no scale), and the reward checkpoint that gave them.
 */
export const scoreAnswer = z.object({
  scores: z.array(z.number()),
  normalizedScores: z.array(z.number()).nullable().optional(),
  checkpoint: z.object({
    id: z.number().int().positive(),
    version: z.number().int().positive(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    rewardMean: z.number().nullable().optional(),
    rewardStd: z.number().positive().nullable().optional(),
  }),
});

/**
 * What the scorer must answer for `count` texts: exactly one finite number per text
 * (zod's number refuses Infinity, which `1e999` parses to) and the checkpoint that gave them.
 */
export const scoreAnswerFor = (count: number) =>
  scoreAnswer.extend({
    scores: z.array(z.number()).length(count, `expected ${count} score${count === 1 ? "" : "s"}, one per text`),
    normalizedScores: z
      .array(z.number())
      .length(count, `expected ${count} normalised score${count === 1 ? "" : "s"}, one per text`)
      .nullable()
      .optional(),
  });

export { MAX_SCORE_REQUEST_BYTES } from "./score-limits.ts";

export type ScoreRequest = z.infer<typeof scoreRequest>;
export type ScoreAnswer = z.infer<typeof scoreAnswer>;
