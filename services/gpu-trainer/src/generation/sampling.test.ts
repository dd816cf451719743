import { describe, expect, it } from "vitest";
import { seededRandom } from "../util/random.ts";
import { sampleToken } from "./sampling.ts";

const draw = (logits: number[], opts: { temperature: number; topK: number; topP: number }, n = 4000, banned = new Set<number>()) => {
  const random = seededRandom(1);
  const counts = new Array(logits.length).fill(0);
  for (let i = 0; i < n; i++) counts[sampleToken(logits, opts, random, banned)]++;
  return counts.map((c) => c / n);
};

describe("sampleToken", () => {
  const logits = [Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)];

  it("is greedy at temperature 0", () => {
    expect(sampleToken([0.1, 2, 1], { temperature: 0, topK: 0, topP: 1 }, Math.random)).toBe(1);
  });

  it("draws in proportion to softmax(logits) at temperature 1", () => {
    const p = draw(logits, { temperature: 1, topK: 0, topP: 1 });
    [0.5, 0.3, 0.15, 0.05].forEach((want, i) => expect(p[i]).toBeCloseTo(want, 1));
  });

  it("keeps only the k most likely with top-k", () => {
    const p = draw(logits, { temperature: 1, topK: 2, topP: 1 });
    expect(p[2]! + p[3]!).toBe(0);
    expect(p[0]).toBeCloseTo(0.5 / 0.8, 1);
  });

  it("keeps the smallest set reaching p with top-p", () => {
    // 0.5 + 0.3 = 0.8 ≥ 0.75: tokens 0 and 1 only.
    const p = draw(logits, { temperature: 1, topK: 0, topP: 0.75 });
    expect(p[2]! + p[3]!).toBe(0);
    expect(p[0]! + p[1]!).toBe(1);
  });

  it("never draws a banned token", () => {
    expect(draw(logits, { temperature: 1, topK: 0, topP: 1 }, 500, new Set([0]))[0]).toBe(0);
    expect(sampleToken(logits, { temperature: 0, topK: 0, topP: 1 }, Math.random, new Set([0]))).toBe(1);
  });

  it("draws the unfiltered row (no sort) as the sorted path does, in proportion, with a banned best token renormalised away", () => {
    // Token 0 is the most likely and banned: the rest share its mass in proportion, as the sorted top-k path gives them.
    const unfiltered = draw(logits, { temperature: 1, topK: 0, topP: 1 }, 8000, new Set([0]));
    const sorted = draw(logits, { temperature: 1, topK: 4, topP: 1 }, 8000, new Set([0]));
    [0, 0.6, 0.3, 0.1].forEach((want, i) => {
      expect(unfiltered[i]).toBeCloseTo(want, 1);
      expect(sorted[i]).toBeCloseTo(want, 1);
    });
    // A temperature that underflows every other token still draws an allowed one.
    expect(sampleToken([0, 500, -500], { temperature: 0.01, topK: 0, topP: 1 }, () => 0.999999, new Set([1]))).toBe(0);
  });

  it("repeats under the same seed", () => {
    expect(draw(logits, { temperature: 1, topK: 0, topP: 1 }, 50)).toEqual(draw(logits, { temperature: 1, topK: 0, topP: 1 }, 50));
  });
});
