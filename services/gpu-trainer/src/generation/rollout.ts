import type { WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { generate, type Decoder } from "./generate.ts";
import type { Sampling } from "./sampling.ts";

/**
 * An RL step's rollouts: the current policy continues `queries` ([CLS] + prompt tokens)
 * through `decoder`, which reads the policy's weights where they train (the engine's
 * decoder() over its arrays, or tfjs's variables), so nothing is exported between steps.
 * A response that ended itself keeps its [SEP], so the policy is rewarded for stopping
 * too; an empty one is [SEP] alone. Shared by PPO and GRPO.
 */
export async function sampleRollouts(
  tok: WordPieceTokenizer,
  decoder: Decoder<unknown>,
  queries: readonly (readonly number[])[],
  sampling: Sampling & { bannedTokens: readonly number[] },
): Promise<{ responses: number[][]; texts: string[] }> {
  const options = { ...sampling, stopTokens: [tok.sep], padToken: tok.pad, bannedTokens: [...sampling.bannedTokens] };
  const generated = await generate(
    decoder,
    queries.map((q) => [...q]),
    options,
  );
  return {
    responses: generated.map((r) => (r.length < sampling.maxNewTokens ? [...r, tok.sep] : r.length > 0 ? r : [tok.sep])),
    texts: generated.map((r) => tok.decode(r)),
  };
}
