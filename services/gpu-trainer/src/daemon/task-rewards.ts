import type { TrainerApi } from "../ranklab-api.ts";
import { modelReward } from "../reward-functions/model-rewards.ts";
import { mapLimit } from "../util/map-limit.ts";

/**
 * Scores the completions raters may be asked to rank (those of the active prompts, the
 * newest `perPrompt` each) with the live reward model and posts the rewards with its
 * checkpoint. The API then offers first the groups whose rewards lie closest together:
 * labels go where the model is least sure. Returns how many it posted.
 */
export async function postTaskRewards(api: TrainerApi, live: { dir: string; checkpointId: number }, perPrompt = 400): Promise<number> {
  const prompts = await api.activePrompts();
  // A few prompts at a time, not one request per prompt at once (see mapLimit).
  const rows = (
    await mapLimit(prompts, 4, async (p) => (await api.completionsOf(p.id, perPrompt)).map((c) => ({ id: c.id, prompt: p.text, text: c.text })))
  ).flat();
  if (rows.length === 0) return 0;
  const reward = await modelReward(live.dir);
  try {
    const scores = await reward.score(rows.map((r) => ({ prompt: r.prompt, response: r.text })));
    const rewards = rows.map((r, i) => ({ completionId: r.id, reward: scores[i]! })).filter((r) => Number.isFinite(r.reward));
    await api.postCompletionRewards(live.checkpointId, rewards);
    return rewards.length;
  } finally {
    await reward.close?.();
  }
}
