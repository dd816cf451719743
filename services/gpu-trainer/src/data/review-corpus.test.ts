import { describe, expect, it } from "vitest";
import { parseRankTsv } from "../reward-model/rank-data.ts";
import { generateRankLists, generateReviews, toRankTsv } from "./review-corpus.ts";

describe("generated review corpus", () => {
  it("is the same under the same seed and different under another", () => {
    expect(generateReviews(50, 7)).toEqual(generateReviews(50, 7));
    expect(generateReviews(50, 7).map((r) => r.text)).not.toEqual(generateReviews(50, 8).map((r) => r.text));
  });

  it("yields thousands of distinct reviews over every domain and level", () => {
    const reviews = generateReviews(5000, 1);
    expect(new Set(reviews.map((r) => r.text)).size).toBe(5000);
    expect(new Set(reviews.map((r) => `${r.domain}/${r.level}`)).size).toBe(16);
  });

  it("labels levels 2–3 positive and 0–1 negative, with verdicts that match", () => {
    for (const r of generateReviews(400, 3)) {
      expect(r.label).toBe(r.level >= 2 ? "positive" : "negative");
      if (r.level === 3) expect(r.text).toMatch(/！$/);
      expect(r.text.startsWith(r.stem)).toBe(true);
    }
  });

  it("opens some reviews with each of the seed's prompts", () => {
    const stems = new Set(generateReviews(4000, 5).map((r) => r.stem));
    for (const prompt of ["刚收到货，感觉有", "这部电影很", "说实话，真的很", "这次购物总的来说体验很"]) expect(stems).toContain(prompt);
  });

  it("writes rank lists of four, best first, that the TSV reader reads back", () => {
    const lists = generateRankLists(30, 11);
    const back = parseRankTsv(toRankTsv(lists), "generated.tsv");
    expect(back).toEqual(lists);
    expect(back.every((l) => l.texts.length === 4)).toBe(true);
  });

  it("keeps excluded texts out of new lists (dev never overlaps train)", () => {
    const train = generateRankLists(100, 1);
    const exclude = new Set(train.flatMap((l) => l.texts));
    const dev = generateRankLists(40, 2, exclude);
    expect(dev.flatMap((l) => l.texts).some((t) => exclude.has(t))).toBe(false);
  });
});
