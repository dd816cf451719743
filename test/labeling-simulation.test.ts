// The pieces of `npm run bench labeling` (scripts/bench/labeling-sim.ts) on tiny data made here: the
// simulated crowd, its rankings, the API's task rule driving the labeling, and the weighted training lists.
import { describe, expect, it } from "vitest";
import { Labeling, makeCrowd, poolOf, rateGroup, type SimRater, trainingLists } from "../scripts/bench/labeling-sim.ts";

// Texts that differ from their first character on, as real reviews do (the raters' noise hashes the text).
const lists = (n: number) => Array.from({ length: n }, (_, i) => ({ texts: [0, 1, 2, 3].map((j) => `${j}.${i}: a review`) }));
const careful = (id: number, noise = 0): SimRater => ({ id, name: `careful${id}`, careless: false, taste: { noise, randomShare: 0 } });
const careless = (id: number): SimRater => ({ id, name: `careless${id}`, careless: true, taste: { noise: 0.5, randomShare: 1 } });

describe("the labeling benchmark's simulation", () => {
  it("makes groups of the lists with their own ids, and a crowd with 1 in 4 answering at random", () => {
    const pool = poolOf(lists(3));
    expect(pool.map((g) => g.members)).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9, 10, 11],
    ]);
    for (const seed of [1, 2, 3]) {
      const crowd = makeCrowd(seed, { size: 16, randomEvery: 4, noise: [0.25, 1] });
      expect(crowd.filter((r) => r.careless)).toHaveLength(4);
      expect(crowd.filter((r) => r.careless).every((r) => r.taste.randomShare === 1)).toBe(true);
      expect(crowd.filter((r) => !r.careless).every((r) => r.taste.randomShare === 0 && r.taste.noise >= 0.25 && r.taste.noise <= 1)).toBe(true);
      expect(new Set(crowd.map((r) => r.name)).size).toBe(16);
    }
    expect(makeCrowd(1, { size: 16, randomEvery: 4, noise: [0.25, 1] })).toEqual(makeCrowd(1, { size: 16, randomEvery: 4, noise: [0.25, 1] }));
  });

  it("ranks a group by its true order without noise, with ties when noise rounds two texts alike, and at random (no ties) when careless", () => {
    const [group] = poolOf(lists(1));
    const ranking = rateGroup(careful(1), group!, 7);
    expect(ranking).toMatchObject({ id: 7, raterId: 1 });
    expect(ranking.completions).toEqual(group!.texts.map((text, i) => ({ id: i, text, level: i })));
    // A noisy rater disagrees sometimes and ties sometimes, over many groups; always the same way for the same group.
    const many = poolOf(lists(200));
    const noisy = careful(2, 0.8);
    const levels = many.map((g) => rateGroup(noisy, g, 1).completions.map((c) => c.level));
    expect(levels.some((l) => new Set(l).size < 4)).toBe(true);
    expect(levels.some((l) => l.some((x, i) => i > 0 && x < l[i - 1]!))).toBe(true);
    expect(rateGroup(noisy, many[5]!, 1)).toEqual(rateGroup(noisy, many[5]!, 1));
    const random = many.map((g) => rateGroup(careless(3), g, 1).completions.map((c) => c.level));
    expect(random.every((l) => [...l].sort().join() === "0,1,2,3")).toBe(true);
    // At random: the true best comes first in about a quarter of the groups, not always.
    const firstRight = random.filter((l) => l[0] === 0).length / random.length;
    expect(firstRight).toBeGreaterThan(0.12);
    expect(firstRight).toBeLessThan(0.4);
  });

  it("labels by the API's rule: a begun group gets its second ranking before a new one starts, never twice from one rater", () => {
    const pool = poolOf(lists(6));
    const crowd = [careful(1), careful(2), careful(3), careless(4)];
    const labeling = new Labeling(pool, crowd, 1, false);
    labeling.label(12, new Map());
    const groupOf = (l: (typeof labeling.labels)[number]) => l.completions.map((c) => c.id).join();
    const ranked = new Map<string, number[]>(); // group → raters so far
    for (const label of labeling.labels) {
      const group = groupOf(label);
      const before = ranked.get(group) ?? [];
      expect(before).not.toContain(label.raterId);
      // A new group only when every begun-but-under-ranked one was already ranked by this rater.
      if (before.length === 0) for (const raters of ranked.values()) if (raters.length === 1) expect(raters).toContain(label.raterId);
      ranked.set(group, [...before, label.raterId]);
    }
    expect(labeling.coverage().reduce((a, n, i) => a + n * i, 0)).toBe(12);
    expect(labeling.coverage()[1] ?? 0).toBeLessThanOrEqual(2);
  });

  it("picks the group the model is least sure about most of the time when tasks go by uncertainty, and ignores rewards otherwise", () => {
    const pool = poolOf(lists(6));
    // Group 3 (ids 12–15) has two rewards 0.001 apart; every other group's rewards lie 1 apart.
    const rewards = new Map(
      pool.flatMap((g) => g.members.map((id, i) => [id, g.index === 3 && i === 1 ? 0.001 : g.index === 3 && i === 0 ? 0 : i] as [number, number])),
    );
    const firstPicks = (byUncertainty: boolean) =>
      Array.from({ length: 60 }, (_, seed) => {
        const labeling = new Labeling(pool, [careful(1)], seed + 1, byUncertainty);
        labeling.label(1, rewards);
        return labeling.labels[0]!.completions[0]!.id;
      });
    const unsure = firstPicks(true).filter((id) => id >= 12 && id <= 15).length;
    // Expected 0.75 + 0.25/6 ≈ 0.79 of 60 (seeded: the same every run).
    expect(unsure).toBeGreaterThanOrEqual(38);
    expect(unsure).toBeLessThan(60);
    expect(firstPicks(false).filter((id) => id >= 12 && id <= 15).length).toBeLessThan(25);
  });

  it("weighs the careless raters' lists least, and leaves lists unweighted when asked", () => {
    const pool = poolOf(lists(40));
    const crowd = [careful(1, 0.3), careful(2, 0.3), careful(3, 0.5), careless(4)];
    const labeling = new Labeling(pool, crowd, 3, false);
    labeling.label(80, new Map());
    const weighted = trainingLists(labeling.labels, true);
    expect(weighted.lists).toHaveLength(weighted.examples.length);
    const weightOf = (rater: number) => weighted.reliability.get(rater)!.weight;
    expect(weightOf(4)).toBeLessThan(Math.min(weightOf(1), weightOf(2), weightOf(3)));
    weighted.examples.forEach((e, i) => expect(weighted.lists[i]!.weight).toBe(weightOf(e.raterId)));
    expect(trainingLists(labeling.labels, false).lists.every((l) => l.weight === undefined)).toBe(true);
  });
});
