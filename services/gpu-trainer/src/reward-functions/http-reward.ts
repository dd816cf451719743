import { z } from "zod";
import { UserError } from "../errors.ts";
import type { RewardFunction } from "./reward-function.ts";

const ResponseSchema = z.object({ scores: z.array(z.number()) });

/**
 * The API's scoring endpoint (POST /v1/score) or any server that answers
 * `{texts, prompts}` with `{scores}`, one per text. A bearer token is sent when given.
 */
export function httpReward(url: string, options: { token?: string; timeoutMs?: number } = {}): RewardFunction {
  return {
    name: `HTTP scorer ${url}`,
    async score(batch) {
      let response: Response;
      try {
        response = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
          body: JSON.stringify({ texts: batch.map((g) => g.response), prompts: batch.map((g) => g.prompt) }),
          signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
        });
      } catch (err) {
        throw new UserError(`${url}: the scorer could not be reached (${err instanceof Error ? err.message : String(err)})`);
      }
      const body = await response.text();
      if (!response.ok) throw new UserError(`${url}: the scorer answered ${response.status}: ${body.slice(0, 300)}`);
      let parsed: z.infer<typeof ResponseSchema>;
      try {
        parsed = ResponseSchema.parse(JSON.parse(body));
      } catch {
        throw new UserError(`${url}: the scorer's answer is not {"scores": [numbers]}: ${body.slice(0, 300)}`);
      }
      if (parsed.scores.length !== batch.length) throw new UserError(`${url}: asked for ${batch.length} scores, got ${parsed.scores.length}`);
      return parsed.scores;
    },
  };
}
