import { isCjk } from "./basic.ts";
import { SPECIAL_TOKENS, vocabFromTokens, type Vocab } from "./vocab.ts";

/**
 * A character-level WordPiece vocabulary for a model trained from scratch: the
 * special tokens, the `maxSize` most frequent characters of the corpus, and every
 * ASCII letter and digit alone and as a `##` continuation, so any ASCII word splits
 * into known pieces. (A real checkpoint's vocab.txt is used as it is.)
 */
export function buildCharVocab(texts: Iterable<string>, maxSize = 8000): Vocab {
  const ascii = "abcdefghijklmnopqrstuvwxyz0123456789".split("");
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const ch of text.toLowerCase()) {
      if (/\s/u.test(ch)) continue;
      counts.set(ch, (counts.get(ch) ?? 0) + 1);
    }
  }
  const fixed = [...SPECIAL_TOKENS, ...ascii, ...ascii.map((c) => `##${c}`)];
  const taken = new Set(fixed);
  const ranked = [...counts.entries()]
    .filter(([ch]) => !taken.has(ch))
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([ch]) => ch)
    .filter((ch) => isCjk(ch.codePointAt(0)!) || [...ch].length === 1);
  return vocabFromTokens([...fixed, ...ranked.slice(0, Math.max(0, maxSize - fixed.length))], "built from the training texts");
}
