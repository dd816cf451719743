/**
 * distinct-n (Li et al. 2016): distinct n-grams over all n-grams in a set of samples,
 * counted over characters (Chinese has no spaces; a character bigram is the smallest
 * unit that tells "必须推荐" repeated from varied text). 1 = no repeats; a policy that
 * collapses onto one sentence falls toward 0. A set with no n-gram at all gives 0.
 */
export function distinctN(texts: readonly string[], n: number): number {
  const seen = new Set<string>();
  let total = 0;
  for (const text of texts) {
    const chars = [...text];
    for (let i = 0; i + n <= chars.length; i++) {
      seen.add(chars.slice(i, i + n).join(""));
      total++;
    }
  }
  return total === 0 ? 0 : seen.size / total;
}

export const distinct2 = (texts: readonly string[]) => distinctN(texts, 2);

/** Mean length in characters (code points), the unit distinct-n counts in. */
export const meanChars = (texts: readonly string[]) => (texts.length === 0 ? 0 : texts.reduce((s, t) => s + [...t].length, 0) / texts.length);
