import { generateReviews, seededRandom } from "@ranklab/gpu-trainer";

/**
 * Continuations for prompts, taken from the project's review generator, so raters
 * have work on a fresh install before the trainer posts its own generations: a review
 * that opens with the prompt gives the rest of it; other prompts get the body of a
 * review after the opening. Four per prompt, of mixed sentiment, deterministic.
 */
export function starterCompletions(prompts: readonly string[], perPrompt = 4, seed = 7): Map<string, string[]> {
  const reviews = generateReviews(4000, seed);
  const random = seededRandom(seed);
  const out = new Map<string, string[]>();
  for (const prompt of prompts) {
    const matching = reviews.filter((r) => r.text.startsWith(prompt) && r.text.length > prompt.length);
    const pool = matching.length >= perPrompt ? matching.map((r) => r.text.slice(prompt.length)) : reviews.map((r) => r.text.slice(r.text.indexOf("，") + 1));
    const picked = new Set<string>();
    while (picked.size < perPrompt) picked.add(pool[Math.floor(random() * pool.length)]!);
    out.set(prompt, [...picked]);
  }
  return out;
}
