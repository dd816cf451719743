import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { selectBackend } from "../src/backend/select-backend.ts";
import { generateRankLists } from "../src/data/review-corpus.ts";
import { trainRewardModelOn } from "../src/reward-model/train.ts";
import { RewardTrainConfigSchema } from "../src/reward-model/train-config.ts";
import { fmt } from "./timing.ts";

/**
 * Reward-model training on each engine, in one run, on generated rank lists (600 train,
 * 100 dev, the default model size: 2 layers × 128, maxLength 64, 2 epochs): tfjs with
 * the default dropout 0.1 (the baseline, today's default), tfjs without dropout, and
 * onnxruntime (which has no dropout). Prints each run's time, steps/s and best dev
 * pairwise accuracy, and the speed ratio against the baseline. BENCH_REWARD_LISTS
 * changes the number of training lists.
 */
export async function benchRewardEngine(): Promise<void> {
  const backend = await selectBackend();
  const dir = mkdtempSync(join(tmpdir(), "ranklab-bench-reward-engine-"));
  const train = generateRankLists(Number(process.env.BENCH_REWARD_LISTS ?? 600), 1);
  const dev = generateRankLists(100, 2, new Set(train.flatMap((l) => l.texts)));
  const runs = [
    { name: `tfjs ${backend.name}, dropout 0.1 (baseline)`, engine: "tfjs" as const, dropout: 0.1 },
    { name: `tfjs ${backend.name}, dropout 0`, engine: "tfjs" as const, dropout: 0 },
    { name: "onnxruntime, dropout 0", engine: "onnx" as const, dropout: 0 },
  ];
  const results: { name: string; seconds: number; steps: number; accuracy: number }[] = [];
  for (const [i, run] of runs.entries()) {
    const config = RewardTrainConfigSchema.parse({
      out: join(dir, `out-${i}`),
      logsDir: join(dir, `logs-${i}`),
      maxLength: 64,
      epochs: 2,
      evalEvery: 1_000_000,
      logEvery: 1_000_000,
      quiet: true,
      engine: run.engine,
      dropout: run.dropout,
    });
    const result = await trainRewardModelOn(config, train, dev, () => {});
    results.push({ name: run.name, seconds: result.seconds, steps: result.steps, accuracy: result.bestAccuracy });
  }
  const base = results[0]!;
  for (const r of results) {
    console.log(
      `reward model, ${r.name}: ${fmt(r.seconds, 1)} s for ${r.steps} steps (${fmt(r.steps / r.seconds, 2)} steps/s, incl. the final dev evaluation and scale), best dev pairwise accuracy ${fmt(r.accuracy, 4)}; ${fmt(base.seconds / r.seconds, 2)}× the baseline's speed`,
    );
  }
  rmSync(dir, { recursive: true, force: true });
}
