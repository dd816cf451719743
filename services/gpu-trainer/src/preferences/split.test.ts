import { describe, expect, it } from "vitest";
import { examplesFromLabels, type RankingLabel } from "./examples.ts";
import { fnv1a, splitExamples, splitOf } from "./split.ts";

const group = (first: number) => [first, first + 1, first + 2, first + 3];
const rankingOf = (id: number, ids: number[], raterId: number): RankingLabel => ({
  id,
  raterId,
  promptId: 1,
  prompt: "p",
  completions: ids.map((cid, i) => ({ id: cid, text: `t${cid}`, level: i })),
});

describe("the held-out split", () => {
  it("hashes with FNV-1a (the published test vectors)", () => {
    expect(fnv1a("")).toBe(0x811c9dc5);
    expect(fnv1a("a")).toBe(0xe40c292c);
    expect(fnv1a("foobar")).toBe(0xbf9cf968);
  });

  it("puts a group in the same split in every run, for every rater, as the history grows", () => {
    const groups = Array.from({ length: 400 }, (_, i) => group(1 + 4 * i));
    // Run 1 sees half the groups, ranked by one rater; run 2 sees all of them, ranked by two.
    const run1 = splitExamples(
      examplesFromLabels(
        groups.slice(0, 200).map((g, i) => rankingOf(i + 1, g, 1)),
        [],
      ).examples,
    );
    const run2Labels = groups.flatMap((g, i) => [rankingOf(1000 + i, [...g].reverse(), 2), rankingOf(i + 1, g, 1)]);
    const run2 = splitExamples(examplesFromLabels(run2Labels, []).examples);
    const heldOut1 = new Set(run1.heldOut.map((e) => e.group));
    const heldOut2 = new Set(run2.heldOut.map((e) => e.group));
    // Everything held out in run 1 is still held out; the set only grows; both raters' labels of a group go together.
    for (const g of heldOut1) expect(heldOut2.has(g)).toBe(true);
    expect(heldOut2.size).toBeGreaterThan(heldOut1.size);
    for (const e of run2.train) expect(heldOut2.has(e.group)).toBe(false);
    expect(run2.heldOut.filter((e) => e.raterId === 1).length).toBe(run2.heldOut.filter((e) => e.raterId === 2).length);
    // About the configured shares (20% held out, 10% validation) over 400 groups.
    expect(heldOut2.size / 400).toBeGreaterThan(0.14);
    expect(heldOut2.size / 400).toBeLessThan(0.26);
    expect(new Set(run2.validation.map((e) => e.group)).size / 400).toBeGreaterThan(0.05);
  });

  it("depends on the set of completions, not the order a rater gave them", () => {
    const a = examplesFromLabels([rankingOf(1, [4, 3, 2, 1], 9)], []).examples[0]!;
    const b = examplesFromLabels([rankingOf(2, [1, 2, 3, 4], 8)], []).examples[0]!;
    expect(a.group).toBe("1,2,3,4");
    expect(b.group).toBe(a.group);
    expect(splitOf(a.group)).toBe(splitOf(b.group));
  });
});
