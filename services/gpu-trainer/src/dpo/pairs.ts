import { preferencePairs, type RankList } from "../reward-model/rank-data.ts";
import type { WordPieceTokenizer } from "../tokenizer/wordpiece.ts";

/** One preference pair as text: what raters said, before tokenizing. */
export interface TextPair {
  prompt: string;
  chosen: string;
  rejected: string;
  /** Its rater's reliability weight; 1 when absent. */
  weight: number;
}

/** One preference pair as the policy sees it: the query ([CLS] + prompt) and each completion's tokens ([SEP]-ended). */
export interface TokenPair {
  query: number[];
  chosen: number[];
  rejected: number[];
  weight: number;
}

/**
 * The pairs a set of rank lists states, as the reward model reads them (rank-data.ts's
 * preferencePairs): every pair of different levels, ties and identical texts making none.
 * A list's weight (its rater's reliability) goes to each of its pairs.
 */
export function pairsFromRankLists(lists: readonly RankList[]): TextPair[] {
  return lists.flatMap((list) =>
    preferencePairs(list).map(([i, j]) => ({ prompt: list.prompt ?? "", chosen: list.texts[i]!, rejected: list.texts[j]!, weight: list.weight ?? 1 })),
  );
}

/**
 * A pair's tokens as generation made them: the query is [CLS] + the prompt's last
 * tokens (so an empty prompt still gives the GPT-2 one token of context, as sampling
 * does), each completion its tokens then [SEP] (a completion that ended itself), cut
 * to `maxLength` tokens with the query.
 */
export function tokenizePair(tok: WordPieceTokenizer, pair: TextPair, limits: { maxPromptLength: number; maxLength: number }): TokenPair {
  const prompt = tok.encodeText(pair.prompt);
  const query = [tok.cls, ...prompt.slice(Math.max(0, prompt.length - (limits.maxPromptLength - 1)))];
  const room = Math.max(1, limits.maxLength - query.length);
  const completion = (text: string) => [...tok.encodeText(text), tok.sep].slice(0, room);
  return { query, chosen: completion(pair.chosen), rejected: completion(pair.rejected), weight: pair.weight };
}
