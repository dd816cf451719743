import type { Encoded, WordPieceTokenizer } from "../tokenizer/wordpiece.ts";

/**
 * What a reward model sees for a (prompt, completion), recorded in each checkpoint's
 * config.json as `reward_input`, so training, PPO scoring, the scorer behind
 * /v1/score and `reward score` all feed a model the way it was trained:
 * - `pair`: `[CLS] prompt [SEP] completion [SEP]`, segment ids 0 then 1. What the loop's
 *   reward models learn from raters' labels: a continuation is judged in its context,
 *   and the model can tell the two apart.
 * - `concat`: `[CLS] prompt + completion [SEP]`, one text: the whole review. The seed's
 *   sentiment classifier and reward models trained on rank lists of whole reviews.
 * - `completion`: the completion alone, ignoring the prompt: how ranklab's reward
 *   models were trained before this field existed.
 */
export const REWARD_INPUTS = ["pair", "concat", "completion"] as const;
export type RewardInput = (typeof REWARD_INPUTS)[number];

/** A prompt and a completion of it; a text with no prompt (a whole review) has none. */
export interface RewardItem {
  prompt?: string | undefined;
  completion: string;
}

/**
 * The reward input a model folder was trained with. A config without the field was
 * written before it existed: its sentiment classifier read whole reviews (`concat`), its
 * reward models the completion alone.
 */
export function rewardInputOf(config: { reward_input?: RewardInput | undefined; num_labels: number }): RewardInput {
  return config.reward_input ?? (config.num_labels === 2 ? "concat" : "completion");
}

/** The one encoding of reward items: every trainer and scorer calls this. */
export function encodeRewardItems(tokenizer: WordPieceTokenizer, kind: RewardInput, items: readonly RewardItem[], maxLength: number): Encoded {
  switch (kind) {
    case "pair":
      return tokenizer.encodeBatch(
        items.map((i) => i.prompt ?? ""),
        maxLength,
        items.map((i) => i.completion),
      );
    case "concat":
      return tokenizer.encodeBatch(
        items.map((i) => (i.prompt ?? "") + i.completion),
        maxLength,
      );
    case "completion":
      return tokenizer.encodeBatch(
        items.map((i) => i.completion),
        maxLength,
      );
  }
}
