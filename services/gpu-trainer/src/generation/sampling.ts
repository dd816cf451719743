import { z } from "zod";

/** How the next token is drawn; defaults follow Hugging Face's generate() for sampling. */
export const SamplingSchema = z
  .object({
    maxNewTokens: z.number().int().min(1).max(1024).default(32),
    // 0 means greedy (always the most likely token).
    temperature: z.number().min(0).max(10).default(1),
    // 0 keeps every token; trl's sentiment example samples with top_k 0, top_p 1.
    topK: z.number().int().min(0).default(0),
    topP: z.number().gt(0).max(1).default(1),
    seed: z.number().int().default(0),
  })
  .strict();

export type Sampling = z.infer<typeof SamplingSchema>;

/**
 * Draws a token id from one row of logits with temperature, top-k and top-p (nucleus)
 * filtering, using `random` (a seeded generator) so a run repeats under a seed.
 * `banned` ids (padding, [CLS], [UNK]) are never drawn.
 */
export function sampleToken(
  logits: ArrayLike<number>,
  options: Pick<Sampling, "temperature" | "topK" | "topP">,
  random: () => number,
  banned: ReadonlySet<number> = new Set(),
): number {
  const n = logits.length;
  if (options.temperature === 0) {
    let best = -1;
    for (let i = 0; i < n; i++) if (!banned.has(i) && (best < 0 || logits[i]! > logits[best]!)) best = i;
    return best;
  }
  // No filtering (top-k 0, top-p 1: trl's PPO sampling): one pass over the row in index order, as
  // torch.multinomial draws, with no sort (sorting 21,128 logits per token was most of a PPO epoch's generation).
  if ((options.topK === 0 || options.topK >= n) && options.topP >= 1) return sampleUnfiltered(logits, options.temperature, random, banned);
  // Candidates sorted by logit, best first; top-k cuts the list before softmax.
  let ids = Array.from({ length: n }, (_, i) => i).filter((i) => !banned.has(i));
  ids.sort((a, b) => logits[b]! - logits[a]!);
  if (options.topK > 0) ids = ids.slice(0, options.topK);
  const max = logits[ids[0]!]!;
  const weights = ids.map((i) => Math.exp((logits[i]! - max) / options.temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  // Top-p keeps the smallest prefix whose probability reaches p (always at least one token).
  let keep = ids.length;
  if (options.topP < 1) {
    let mass = 0;
    for (let k = 0; k < ids.length; k++) {
      mass += weights[k]! / total;
      if (mass >= options.topP) {
        keep = k + 1;
        break;
      }
    }
  }
  const kept = weights.slice(0, keep);
  let r = random() * kept.reduce((a, b) => a + b, 0);
  for (let k = 0; k < keep; k++) {
    r -= kept[k]!;
    if (r <= 0) return ids[k]!;
  }
  return ids[keep - 1]!;
}

/** A draw from softmax(logits / temperature) over the tokens not banned, in index order. */
function sampleUnfiltered(logits: ArrayLike<number>, temperature: number, random: () => number, banned: ReadonlySet<number>): number {
  const n = logits.length;
  // The banned few are dealt with apart, so the pass over the row does no set lookups.
  let best = -1;
  for (let i = 0; i < n; i++) if (best < 0 || logits[i]! > logits[best]!) best = i;
  let max = logits[best]!;
  if (banned.has(best)) {
    max = -Infinity;
    for (let i = 0; i < n; i++) if (logits[i]! > max && !banned.has(i)) max = logits[i]!;
  }
  const weights = new Float64Array(n);
  for (let i = 0; i < n; i++) weights[i] = Math.exp((logits[i]! - max) / temperature);
  for (const b of banned) if (b >= 0 && b < n) weights[b] = 0;
  let total = 0;
  for (let i = 0; i < n; i++) total += weights[i]!;
  let r = random() * total;
  let last = -1;
  for (let i = 0; i < n; i++) {
    if (weights[i] === 0) continue;
    last = i;
    r -= weights[i]!;
    if (r <= 0) return i;
  }
  // Rounding left r a hair above 0: the last token that could be drawn.
  return last;
}
