import { describe, expect, it } from "vitest";
import { generateRankLists } from "../data/review-corpus.ts";
import { NGRAM_DEFAULTS, NgramRanker } from "./ngram-baseline.ts";

describe("character n-gram rank baseline", () => {
  it("learns which characters the rank lists prefer", () => {
    const lists = Array.from({ length: 40 }, (_, i) => ({ texts: [`第${i}个很好`, `第${i}个一般`, `第${i}个很差`] }));
    const ranker = NgramRanker.train(lists, { ...NGRAM_DEFAULTS, minCount: 1 });
    const [good, meh, bad] = ranker.score(["这个很好", "这个一般", "这个很差"]);
    expect(good).toBeGreaterThan(meh!);
    expect(meh).toBeGreaterThan(bad!);
  });

  it("ranks held-out generated reviews well above chance", () => {
    const train = generateRankLists(300, 1);
    const dev = generateRankLists(50, 2, new Set(train.flatMap((l) => l.texts)));
    expect(NgramRanker.train(train).evaluate(dev).accuracy).toBeGreaterThan(0.8);
  });

  it("is deterministic under a seed", () => {
    const lists = generateRankLists(50, 3);
    expect(NgramRanker.train(lists).score(["刚收到货，感觉有质感"])).toEqual(NgramRanker.train(lists).score(["刚收到货，感觉有质感"]));
  });
});
