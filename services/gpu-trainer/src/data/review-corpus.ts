import type { RankList } from "../reward-model/rank-data.ts";
import { seededRandom, shuffled } from "../util/random.ts";
import { ASPECTS, CONTRASTS, DOMAINS, INTENSIFIERS, JOINERS, OPENINGS, VERDICTS, type Domain } from "./review-vocab.ts";

/**
 * How positive a review is, from 0 (every part negative, a damning verdict) to 3
 * (every part positive, a warm verdict). 2 and 1 mix praise and complaint and lean
 * one way; rank lists order reviews by level, best first.
 */
export type Level = 0 | 1 | 2 | 3;

export interface Review {
  text: string;
  domain: Domain;
  level: Level;
  /** The sentiment classifier's label: levels 2–3 are positive. */
  label: "positive" | "negative";
  /** The opening's stem (a prompt a policy can be asked to continue). */
  stem: string;
}

const pick = <T>(items: readonly T[], random: () => number): T => items[Math.floor(random() * items.length)]!;

function clause(aspect: { name: string; positive: string[]; negative: string[] }, positive: boolean, random: () => number): string {
  return `${aspect.name}${pick(INTENSIFIERS, random)}${pick(positive ? aspect.positive : aspect.negative, random)}`;
}

/**
 * One review of `domain` at `level`: an opening that leans the level's way, two or
 * three aspects (all one way at 0 and 3; one against the lean at 1 and 2, after a
 * "but"), and a verdict.
 */
export function generateReview(random: () => number, domain: Domain, level: Level): Review {
  const leansPositive = level >= 2;
  const opening = pick(OPENINGS[domain], random);
  const aspects = shuffled(ASPECTS[domain], random).slice(0, 2 + Math.floor(random() * 2));
  const mixed = level === 1 || level === 2;
  const parts = aspects.map((a, i) => {
    const against = mixed && i === aspects.length - 1;
    const text = clause(a, against ? !leansPositive : leansPositive, random);
    return i === 0 ? text : `${against ? pick(CONTRASTS, random) : pick(JOINERS, random)}${text}`;
  });
  const verdicts: readonly string[] = [VERDICTS.strongNegative, VERDICTS.mildNegative, VERDICTS.mildPositive, VERDICTS.strongPositive][level]!;
  const text = `${opening.stem}${pick(leansPositive ? opening.positive : opening.negative, random)}，${parts.join("")}。${pick(verdicts, random)}`;
  return { text, domain, level, label: leansPositive ? "positive" : "negative", stem: opening.stem };
}

/** `count` distinct reviews, spread evenly over domains and levels, deterministic under `seed`. */
export function generateReviews(count: number, seed: number): Review[] {
  const random = seededRandom(seed);
  const seen = new Set<string>();
  const out: Review[] = [];
  // A generous bound on draws: duplicates are rare until the vocabulary runs dry.
  for (let draws = 0; out.length < count && draws < count * 20; draws++) {
    const review = generateReview(random, DOMAINS[draws % DOMAINS.length]!, (Math.floor(draws / DOMAINS.length) % 4) as Level);
    if (seen.has(review.text)) continue;
    seen.add(review.text);
    out.push(review);
  }
  if (out.length < count) throw new Error(`the review vocabulary yields only ${out.length} distinct reviews; asked for ${count}`);
  return out;
}

/**
 * Rank lists of four reviews of one domain, one per level, best first — the seed's
 * rank-list TSV format — with no text repeated across lists.
 */
export function generateRankLists(count: number, seed: number, exclude: ReadonlySet<string> = new Set()): RankList[] {
  const random = seededRandom(seed);
  const seen = new Set<string>(exclude);
  const lists: RankList[] = [];
  for (let draws = 0; lists.length < count && draws < count * 20; draws++) {
    const domain = pick(DOMAINS, random);
    const texts = ([3, 2, 1, 0] as const).map((level) => generateReview(random, domain, level).text);
    if (texts.some((t) => seen.has(t))) continue;
    texts.forEach((t) => seen.add(t));
    lists.push({ texts });
  }
  if (lists.length < count) throw new Error(`could only make ${lists.length} distinct rank lists; asked for ${count}`);
  return lists;
}

/** The seed's rank-list TSV: one list a line, best first, tab-separated. */
export function toRankTsv(lists: readonly RankList[]): string {
  return lists.map((l) => l.texts.join("\t")).join("\n") + "\n";
}
