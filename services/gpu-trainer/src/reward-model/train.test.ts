import { mkdtempSync, readFileSync, existsSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { generateRankLists, generateReviews, toRankTsv } from "../data/review-corpus.ts";
import { loadBertDir } from "../io/bert-dir.ts";
import { disposeParams } from "../models/params.ts";
import { asItems, scoreItems } from "./score-tfjs.ts";
import { trainRewardModel } from "./train.ts";
import { RewardTrainConfigSchema } from "./train-config.ts";

/**
 * The acceptance on generated reviews: a tiny reward model trained on rank
 * lists reaches ≥ 0.95 dev pairwise accuracy, and its scores put held-out positive
 * reviews above held-out negative ones in ≥ 95% of pairs.
 */
describe("reward-model training on generated reviews", () => {
  const dir = mkdtempSync(join(tmpdir(), "ranklab-rm-"));
  const lines: string[] = [];
  const config = RewardTrainConfigSchema.parse({
    train: [join(dir, "train.tsv")],
    dev: join(dir, "dev.tsv"),
    out: join(dir, "out"),
    logsDir: join(dir, "logs"),
    maxLength: 64,
    listsPerStep: 8,
    epochs: 3,
    learningRate: 2e-3,
    logEvery: 10,
    evalEvery: 40,
    quiet: true,
    model: { hiddenSize: 32, layers: 1, heads: 2, intermediateSize: 64, maxVocab: 800 },
  });
  let result: Awaited<ReturnType<typeof trainRewardModel>>;

  beforeAll(async () => {
    await selectBackend("wasm");
    const train = generateRankLists(240, 1);
    const dev = generateRankLists(40, 2, new Set(train.flatMap((l) => l.texts)));
    writeFileSync(config.train![0]!, toRankTsv(train));
    writeFileSync(config.dev!, toRankTsv(dev));
    result = await trainRewardModel(config, (l) => lines.push(l));
  }, 240_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reaches at least 0.95 dev pairwise accuracy and keeps that checkpoint as best", () => {
    expect(result.bestAccuracy).toBeGreaterThanOrEqual(0.95);
    const metrics = JSON.parse(readFileSync(join(result.bestDir, "metrics.json"), "utf8"));
    expect(metrics.accuracy).toBe(result.bestAccuracy);
  });

  it("prints the seed's progress lines and saves the curve", () => {
    const all = lines.join("\n");
    expect(all).toMatch(/global step 10, epoch: 1, loss: \d+\.\d+, speed: \d+\.\d+ step\/s/);
    expect(all).toMatch(/Evaluation acc: \d\.\d{4}/);
    const png = readFileSync(join(config.logsDir, "reward-model.png"));
    expect(png.subarray(1, 4).toString()).toBe("PNG");
  });

  it("scores held-out positive reviews above held-out negative ones in ≥ 95% of pairs", () => {
    const model = loadBertDir(result.bestDir);
    const heldOut = generateReviews(120, 99);
    const scores = scoreItems(model, asItems(heldOut.map((r) => r.text)), { maxLength: 64, batchSize: 32 });
    const positive = scores.filter((_, i) => heldOut[i]!.label === "positive");
    const negative = scores.filter((_, i) => heldOut[i]!.label === "negative");
    let right = 0;
    for (const p of positive) for (const n of negative) if (p > n) right++;
    expect(right / (positive.length * negative.length)).toBeGreaterThanOrEqual(0.95);
    disposeParams(model.params);
  });

  it("resumes from its last checkpoint instead of starting over", async () => {
    const more = await trainRewardModel({ ...config, epochs: 4 }, (l) => lines.push(l));
    expect(lines.some((l) => l.startsWith(`resuming from ${join(config.out, "last")} at global step ${result.steps}`))).toBe(true);
    expect(more.steps).toBe(result.steps + 30);
    expect(existsSync(join(config.out, "last", "optimizer.safetensors"))).toBe(true);
  }, 120_000);
});
