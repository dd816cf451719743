import { describe, expect, it } from "vitest";
import { applyRankTap } from "./rank-flow.ts";
import { levelsOf } from "./session.ts";

const task = (picked: number[] = [], ties: boolean[] = []) => ({
  id: "t1",
  kind: "rank" as const,
  promptId: 1,
  promptText: "这家店",
  options: [10, 11, 12, 13].map((id) => ({ id, text: `c${id}` })),
  picked,
  ties,
});

describe("a rank task's taps", () => {
  it("places options in order, fills the last place itself, and ties a place to the previous with t", () => {
    let t = applyRankTap(task(), "2")!;
    t = applyRankTap(t, "t0")!;
    expect(t.picked).toEqual([2, 0]);
    t = applyRankTap(t, "3")!;
    // Three tapped of four: the last is placed for the rater, untied.
    expect(t.picked).toEqual([2, 0, 3, 1]);
    expect(levelsOf(t.ties ?? [], 4)).toEqual([0, 0, 1, 2]);
    // On the confirm screen the last place's tie toggles.
    expect(levelsOf(applyRankTap(t, "tl")!.ties ?? [], 4)).toEqual([0, 0, 1, 1]);
  });

  it("takes back the auto-filled last place with the tap before it, and one tap otherwise", () => {
    expect(applyRankTap(task([2, 0, 3, 1], [false, true, false, false]), "undo")).toMatchObject({ picked: [2, 0], ties: [false, true] });
    expect(applyRankTap(task([2], [false]), "undo")).toMatchObject({ picked: [], ties: [] });
  });

  it("refuses taps that do not fit: a placed option, an unknown one, a tie first, tl before the end", () => {
    expect(applyRankTap(task([2], [false]), "2")).toBeUndefined();
    expect(applyRankTap(task(), "7")).toBeUndefined();
    expect(applyRankTap(task(), "x")).toBeUndefined();
    expect(applyRankTap(task(), "t1")).toBeUndefined();
    expect(applyRankTap(task([1], [false]), "tl")).toBeUndefined();
  });

  it("leaves the task it was given as it was", () => {
    const before = task([1], [false]);
    applyRankTap(before, "2");
    expect(before).toMatchObject({ picked: [1], ties: [false] });
  });
});
