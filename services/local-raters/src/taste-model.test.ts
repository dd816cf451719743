/**
 * The simulated raters' rule on real reviews: a tiny taste model trained here on real rank
 * lists (../shared/data/reviews, never copied into the repository; skipped without it),
 * then the raters' worth of real texts is its standardised score plus each rater's own
 * hash-fixed noise, rounded: the same every time, and ordering real reviews the way the
 * people who ranked them did.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readRankFile } from "@ranklab/gpu-trainer/reward-model/rank-data";
import { RewardTrainConfigSchema } from "@ranklab/gpu-trainer/reward-model/train-config";
import { trainRewardModelOn } from "@ranklab/gpu-trainer/reward-model/train";
import { perceivedWorth, raterNoise, TASTES } from "./simulated-rater.ts";
import { loadTasteModel, type TasteModel } from "./taste-model.ts";

const REVIEWS = resolve(import.meta.dirname, "../../../../shared/data/reviews");
const present = existsSync(join(REVIEWS, "rank_train.tsv")) && existsSync(join(REVIEWS, "rank_dev.tsv"));
const home = mkdtempSync(join(tmpdir(), "ranklab-taste-"));
let taste: TasteModel;
const trainLists = present ? readRankFile(join(REVIEWS, "rank_train.tsv")).slice(0, 400) : [];
const devLists = present ? readRankFile(join(REVIEWS, "rank_dev.tsv")).slice(0, 60) : [];

beforeAll(async () => {
  if (!present) return;
  // Tiny and quick: 1 layer × 32, two passes over 400 real lists, on onnxruntime (no dropout).
  const config = RewardTrainConfigSchema.parse({
    out: join(home, "taste"),
    logsDir: join(home, "logs"),
    rewardInput: "completion",
    engine: "onnx",
    dropout: 0,
    epochs: 2,
    maxLength: 64,
    evalEvery: 1_000_000,
    model: { hiddenSize: 32, layers: 1, heads: 2, intermediateSize: 64, maxVocab: 3000 },
    quiet: true,
  });
  const trained = await trainRewardModelOn(config, trainLists, devLists, () => {});
  taste = loadTasteModel(trained.bestDir);
}, 300_000);
afterAll(() => {
  taste?.close();
  rmSync(home, { recursive: true, force: true });
});

describe.skipIf(!present)("the simulated raters on real reviews", () => {
  it("worth is the taste model's standardised score: mean 0 and sd 1 over the reviews it learned from", () => {
    const z = taste.worthMany(trainLists.flatMap((l) => l.texts));
    const mean = z.reduce((a, b) => a + b, 0) / z.length;
    const sd = Math.sqrt(z.reduce((s, x) => s + (x - mean) ** 2, 0) / z.length);
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(sd - 1)).toBeLessThan(0.05);
  });

  it("a rater's worth of a real text is round(taste + 0.5 × their own noise), the same every time", () => {
    for (const text of devLists.slice(0, 5).flatMap((l) => l.texts)) {
      for (const rater of ["Mei", "Lin"]) {
        const worth = perceivedWorth(rater, text, TASTES.default, taste.worth);
        expect(worth).toBe(Math.round(taste.worth(text) + 0.5 * raterNoise(rater, text)));
        expect(perceivedWorth(rater, text, TASTES.default, taste.worth)).toBe(worth);
      }
    }
    // Two raters do not share their noise.
    const texts = devLists.flatMap((l) => l.texts);
    expect(texts.some((t) => raterNoise("Mei", t) !== raterNoise("Lin", t))).toBe(true);
  });

  it("orders held-out real reviews as the people who ranked them did, most of the time", () => {
    // Best against worst of each rank_dev list (most positive vs most negative): the taste itself, and each rater
    // through their noise and rounding (a tie when both round to the same whole number).
    const modelAgrees = devLists.filter((l) => taste.worth(l.texts[0]!) > taste.worth(l.texts.at(-1)!)).length / devLists.length;
    let agree = 0;
    let disagree = 0;
    for (const rater of ["Mei", "Lin"]) {
      for (const list of devLists) {
        const best = perceivedWorth(rater, list.texts[0]!, TASTES.default, taste.worth);
        const worst = perceivedWorth(rater, list.texts.at(-1)!, TASTES.default, taste.worth);
        if (best > worst) agree++;
        else if (best < worst) disagree++;
      }
    }
    const figures = `taste ${modelAgrees.toFixed(3)}, raters ${agree} agree / ${disagree} disagree / ${2 * devLists.length - agree - disagree} ties`;
    expect(modelAgrees, figures).toBeGreaterThan(0.75);
    expect(agree / (agree + disagree), figures).toBeGreaterThan(0.75);
  });
});
