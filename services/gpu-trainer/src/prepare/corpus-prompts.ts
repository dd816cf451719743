import type { CorpusReview } from "../data/corpus-csv.ts";
import { reviewOpening } from "../data/corpus-csv.ts";
import type { RewardItem } from "../reward-model/reward-input.ts";
import type { WordPieceTokenizer } from "../tokenizer/wordpiece.ts";

/**
 * How the openings are chosen; written into prompts.json, so a home whose prompts were
 * chosen by another rule gets new ones without training its models again.
 */
export const PROMPT_RULE = "openings of held-out reviews, half from positive and half from negative ones, that the classifier alone scores in [0.2, 0.8]";

/**
 * The band of P(positive) an opening may have on its own. The seed's four prompts
 * (刚收到货，感觉有 …) leave the sentiment open, so the continuation decides the reward.
 * A real review's opening often decides it already: on the real corpora the classifier
 * scores 酒店太脏 ("the hotel is too dirty") 0.006 and 买套装挺划算的 0.989 before a
 * word is added, and the openings are bimodal (of 3,118 distinct held-out openings, 1,259
 * score under 0.1 and 922 over 0.9; 578 lie in the band). PPO cannot move a reward its continuation does not change: with
 * such prompts a measured demo plateaued at 0.81 over 200 epochs, the "too dirty" prompt at 0.07.
 */
export const OPEN_BAND = [0.2, 0.8] as const;

/** Candidates scored per label: enough that a band holding ~10% of openings still fills 6 prompts. */
const CANDIDATES_PER_LABEL = 400;

/**
 * PPO's prompts from a corpus: the seed's four, then openings of held-out reviews (half
 * from positive, half from negative ones, so the prompts do not lean one way), distinct,
 * starting with a Chinese character, made only of characters the vocabulary knows, and
 * open: the classifier scores the bare opening within OPEN_BAND. `ordered` is each
 * label's held-out reviews in a stable order.
 */
export async function corpusPrompts(
  seedPrompts: readonly string[],
  ordered: { positive: readonly CorpusReview[]; negative: readonly CorpusReview[] },
  count: number,
  tokenizer: WordPieceTokenizer,
  classify: (items: RewardItem[]) => Promise<number[]>,
): Promise<string[]> {
  const out = [...seedPrompts];
  const seen = new Set(out);
  // Openings that start with a Chinese character (not "1.散热性能") and that the vocabulary spells without [UNK].
  const usable = (o: string) => /^\p{Script=Han}/u.test(o) && !tokenizer.encodeText(o).includes(tokenizer.unk);
  for (const [label, reviews] of [
    [1, ordered.positive],
    [0, ordered.negative],
  ] as const) {
    const want = label === 1 ? Math.ceil(count / 2) : Math.floor(count / 2);
    const candidates: string[] = [];
    for (const r of reviews) {
      if (candidates.length >= CANDIDATES_PER_LABEL) break;
      const o = reviewOpening(r.text);
      if (usable(o) && !seen.has(o) && !candidates.includes(o)) candidates.push(o);
    }
    // Scored as PPO scores a sample with an empty continuation.
    const scores = await classify(candidates.map((o) => ({ prompt: o, completion: "" })));
    let taken = 0;
    for (const [i, o] of candidates.entries()) {
      if (taken >= want) break;
      if (scores[i]! < OPEN_BAND[0] || scores[i]! > OPEN_BAND[1] || seen.has(o)) continue;
      out.push(o);
      seen.add(o);
      taken++;
    }
  }
  return out;
}
