import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { loadGpt2Dir } from "../io/gpt2-dir.ts";
import { prepare, SEED_PROMPTS } from "../prepare/prepare.ts";
import { modelReward } from "../reward-functions/model-rewards.ts";
import { PpoConfigSchema } from "./config.ts";
import { trainPpo } from "./train.ts";

/** A prepare recipe small enough for a test: the pipeline is the real one, the sizes tiny. */
const TINY = {
  reviews: 400,
  policy: { n_embd: 16, n_layer: 1, n_head: 2, train: { epochs: 1, batchSize: 32, maxLength: 48 } },
  classifier: { hidden_size: 16, layers: 1, heads: 2, train: { epochs: 1, maxLength: 48 } },
  quiet: true,
};

describe("prepare and the sentiment PPO demo (tiny sizes)", () => {
  const home = mkdtempSync(join(tmpdir(), "ranklab-prepare-"));
  const lines: string[] = [];

  beforeAll(async () => {
    await selectBackend("wasm");
  });

  it("prepares the corpus, policy and classifier once, then finds them cached", async () => {
    const first = await prepare({ home, ...TINY }, (l) => lines.push(l));
    expect(first.cached).toBe(false);
    for (const f of ["config.json", "model.safetensors", "vocab.txt", "model.onnx"]) {
      expect(existsSync(join(first.policyDir, f))).toBe(true);
      expect(existsSync(join(first.classifierDir, f))).toBe(true);
    }
    expect(readFileSync(join(first.dataDir, "reviews.jsonl"), "utf8").trim().split("\n")).toHaveLength(400);
    expect((await prepare({ home, ...TINY })).cached).toBe(true);
    // Another recipe makes them again.
    expect((await prepare({ home, ...TINY, seed: 2 }, () => {})).cached).toBe(false);
  }, 120_000);

  it("prints the seed's epoch lines and samples, saves JSONL, PNG and the final policy", async () => {
    const paths = await prepare({ home, ...TINY, seed: 2 });
    const reward = await modelReward(paths.classifierDir);
    const out = join(home, "run");
    const logsDir = join(home, "logs");
    const history = await trainPpo(
      {
        policyDir: paths.policyDir,
        epochs: 2,
        prompts: SEED_PROMPTS,
        out,
        logsDir,
        runName: "PPO-Sentiment-Zh",
        engine: "onnx",
        samplesShown: 5,
        quiet: true,
        ppo: PpoConfigSchema.parse({ batchSize: 8, miniBatchSize: 4, ppoEpochs: 1, generation: { maxNewTokens: 6 } }),
      },
      reward,
      (l) => lines.push(l),
    );
    await reward.close?.();
    expect(history).toHaveLength(2);
    const text = lines.join("\n");
    expect(text).toMatch(/^epoch 1 mean-reward: \d\.\d{4}/m);
    expect(text).toMatch(/^epoch 2 mean-reward: \d\.\d{4}/m);
    expect(text).toContain("Random Sample 5 text(s) of model output:");
    for (let k = 1; k <= 5; k++) expect(text).toMatch(new RegExp(`^${k}\\. (${SEED_PROMPTS.join("|")})`, "m"));
    for (const m of history) {
      expect(m.meanReward).toBeGreaterThanOrEqual(0);
      expect(m.meanReward).toBeLessThanOrEqual(1);
    }
    const jsonl = readFileSync(join(logsDir, "PPO-Sentiment-Zh.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(jsonl.map((m) => m.epoch)).toEqual([1, 2]);
    expect(Object.keys(jsonl[0])).toEqual(
      expect.arrayContaining(["env/reward_mean", "objective/kl", "objective/entropy", "ppo/loss/policy", "ppo/loss/value", "ppo/policy/clipfrac"]),
    );
    expect(jsonl[1]["env/reward_mean"]).toBe(history[1]!.meanReward);
    expect(readFileSync(join(logsDir, "PPO-Sentiment-Zh.png")).subarray(1, 4).toString()).toBe("PNG");
    expect(loadGpt2Dir(out).hasValueHead).toBe(true);
  }, 120_000);

  it("against a fixed reference, stops once a batch's KL passes stopAtKl and says so", async () => {
    const paths = await prepare({ home, ...TINY, seed: 2 });
    const reward = await modelReward(paths.classifierDir);
    const out: string[] = [];
    // The reference is the prepared policy itself: KL starts at 0 and grows with the first update.
    const history = await trainPpo(
      {
        policyDir: paths.policyDir,
        referenceDir: paths.policyDir,
        stopAtKl: 1e-9,
        epochs: 8,
        prompts: SEED_PROMPTS,
        out: join(home, "stop"),
        logsDir: join(home, "stop-logs"),
        runName: "stop",
        engine: "onnx",
        samplesShown: 0,
        quiet: true,
        ppo: PpoConfigSchema.parse({ batchSize: 8, miniBatchSize: 4, ppoEpochs: 1, generation: { maxNewTokens: 6 } }),
      },
      reward,
      (l) => out.push(l),
    );
    await reward.close?.();
    // The first batch is sampled from the reference itself: KL 0. Later batches' estimates may dip below 0 by
    // chance, but the first one over the threshold ends the run.
    expect(history[0]!.kl).toBe(0);
    expect(history.length).toBeLessThan(8);
    expect(history.at(-1)!.kl).toBeGreaterThan(1e-9);
    expect(history.slice(0, -1).every((m) => m.kl <= 1e-9)).toBe(true);
    expect(out.join("\n")).toMatch(new RegExp(`stopping after epoch ${history.length}: KL to the reference \\d`));
  }, 120_000);
});
