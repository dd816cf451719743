/**
 * `npm run bench labeling`: does picking tasks by the reward model's uncertainty, and
 * weighting raters by their reliability, buy the same reward model with fewer labels?
 * On the real rank lists in ../shared/data/reviews (rank_train.tsv's lists are the pool of
 * groups to label, rank_dev.tsv the test): a crowd of simulated raters (labeling-sim.ts)
 * ranks groups one label at a time, each task picked by the API's own rule
 * (services/api/src/lib/task-picking.ts). Every LABELING_ROUND labels the reward model is
 * retrained on all labels so far, warm-started from the previous round's as the daemon's
 * reward phase does (onnxruntime engine, a small model), and its rewards for the pool are
 * what the next round's uncertainty picks use. Four conditions, on the same crowd and
 * seeds: (a) uniform tasks, unweighted (the baseline), (b) uncertainty tasks,
 * (c) reliability-weighted training, (d) both. Reported: pairwise accuracy on every pair
 * of rank_dev's lists after each round, over LABELING_SEEDS, mean and min–max, and each
 * condition's mean against (a)'s as a ratio.
 *
 * Env: LABELING_SEEDS (default 1,2,3), LABELING_BUDGETS (300,600,1200), LABELING_ROUND
 * (150), LABELING_RATERS (16), LABELING_NOISE (0.25,1), LABELING_CONDITIONS (a,b,c,d),
 * LABELING_POOL (lists of rank_train to use; all), LABELING_TRAIN (JSON over the training
 * settings printed at the start), RANKLAB_REVIEWS_DIR (where the data is).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { REVIEWS_DIR } from "@ranklab/gpu-trainer/bench/reward-on-reviews";
import { selectBackend } from "@ranklab/gpu-trainer/backend/select-backend";
import { fmt } from "@ranklab/gpu-trainer/bench/timing";
import { modelReward } from "@ranklab/gpu-trainer/reward-functions/model-rewards";
import { readRankFile } from "@ranklab/gpu-trainer/reward-model/rank-data";
import { trainRewardModelOn } from "@ranklab/gpu-trainer/reward-model/train";
import { RewardTrainConfigSchema } from "@ranklab/gpu-trainer/reward-model/train-config";
import { buildCharVocab } from "@ranklab/gpu-trainer/tokenizer/build-vocab";
import { Labeling, makeCrowd, type PoolGroup, poolOf, type SimRater, trainingLists } from "./labeling-sim.ts";

const CONDITIONS = {
  a: { name: "(a) uniform tasks, unweighted", uncertainty: false, weighted: false },
  b: { name: "(b) uncertainty tasks", uncertainty: true, weighted: false },
  c: { name: "(c) reliability-weighted", uncertainty: false, weighted: true },
  d: { name: "(d) both", uncertainty: true, weighted: true },
} as const;
type ConditionKey = keyof typeof CONDITIONS;

/**
 * The training settings: the daemon's reward-phase defaults (daemon/config.ts: a 1-layer
 * encoder 64 wide, 64 tokens, 3 epochs a round, warm starts at 3e-4), on the onnxruntime
 * engine: four conditions × 3 seeds in ~10 min on 2 cores.
 */
const TRAIN_SETTINGS = {
  maxLength: 64,
  epochs: 3,
  listsPerStep: 8,
  learningRate: 1e-3,
  warmLearningRate: 3e-4,
  model: { hiddenSize: 64, layers: 1, heads: 2, intermediateSize: 256, maxVocab: 6000, pooling: "mean" as const, bigramBuckets: 0 },
};

const numbers = (value: string | undefined, fallback: number[]) => (value ? value.split(",").map(Number) : fallback);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

interface RoundResult {
  labels: number;
  accuracy: number;
  seconds: number;
}

/** The pool's rewards from a round's model, as the daemon posts them with a checkpoint (task-rewards.ts). */
async function poolRewards(dir: string, pool: readonly PoolGroup[]): Promise<Map<number, number>> {
  const reward = await modelReward(dir);
  try {
    const scores = await reward.score(pool.flatMap((g) => g.texts.map((text) => ({ prompt: "", response: text }))));
    const ids = pool.flatMap((g) => g.members);
    return new Map(ids.map((id, i) => [id, scores[i]!]));
  } finally {
    await reward.close?.();
  }
}

async function runCondition(
  key: ConditionKey,
  seed: number,
  ctx: {
    pool: PoolGroup[];
    crowd: SimRater[];
    dev: ReturnType<typeof readRankFile>;
    vocabDir: string;
    work: string;
    round: number;
    total: number;
    train: typeof TRAIN_SETTINGS;
  },
): Promise<{ rounds: RoundResult[]; reliability: { careless: number; careful: number }; coverage: number[] }> {
  const condition = CONDITIONS[key];
  const labeling = new Labeling(ctx.pool, ctx.crowd, seed, condition.uncertainty);
  let rewards = new Map<number, number>();
  let previous: string | undefined;
  const rounds: RoundResult[] = [];
  let reliability = { careless: Number.NaN, careful: Number.NaN };
  const started = performance.now();
  for (let n = ctx.round, k = 0; n <= ctx.total; n += ctx.round, k++) {
    labeling.label(ctx.round, rewards);
    const data = trainingLists(labeling.labels, condition.weighted);
    const accuracyOf = (careless: boolean) =>
      mean(
        ctx.crowd
          .filter((r) => r.careless === careless)
          .map((r) => data.reliability.get(r.id)?.accuracy ?? Number.NaN)
          .filter(Number.isFinite),
      );
    reliability = { careless: accuracyOf(true), careful: accuracyOf(false) };
    const out = join(ctx.work, `${key}-seed${seed}-round${k}`);
    const { warmLearningRate, model, ...rest } = ctx.train;
    const config = RewardTrainConfigSchema.parse({
      ...rest,
      out,
      logsDir: join(out, "logs"),
      engine: "onnx",
      dropout: 0,
      evalEvery: 1_000_000,
      logEvery: 1_000_000,
      seed,
      quiet: true,
      // Warm-started from the last round's model as the daemon does; the first from scratch, its vocabulary the pool's characters.
      ...(previous ? { baseModel: previous, learningRate: warmLearningRate } : { vocabFrom: ctx.vocabDir, model }),
    });
    // One evaluation, at the end (evalEvery above every run's length): its accuracy on rank_dev is the figure, chosen from nothing.
    const result = await trainRewardModelOn(config, data.lists, ctx.dev, () => {});
    if (condition.uncertainty && n + ctx.round <= ctx.total) rewards = await poolRewards(result.bestDir, ctx.pool);
    if (previous) rmSync(dirname(previous), { recursive: true, force: true });
    previous = result.bestDir;
    rounds.push({ labels: n, accuracy: result.bestAccuracy, seconds: (performance.now() - started) / 1000 });
  }
  if (previous) rmSync(dirname(previous), { recursive: true, force: true });
  return { rounds, reliability, coverage: labeling.coverage() };
}

export async function benchLabeling(): Promise<void> {
  const trainPath = join(REVIEWS_DIR, "rank_train.tsv");
  const devPath = join(REVIEWS_DIR, "rank_dev.tsv");
  if (!existsSync(trainPath) || !existsSync(devPath)) {
    console.log(`skipped: no ${trainPath} and ${devPath} (set RANKLAB_REVIEWS_DIR to the folder holding them)`);
    return;
  }
  // Dev evaluation and the reward scale run on tfjs: the fastest backend present (wasm here), not tfjs's plain-JS default.
  const backend = await selectBackend();
  const seeds = numbers(process.env.LABELING_SEEDS, [1, 2, 3]);
  const budgets = numbers(process.env.LABELING_BUDGETS, [300, 600, 1200]);
  const round = Number(process.env.LABELING_ROUND ?? 150);
  const total = Math.max(...budgets);
  if (budgets.some((b) => b % round !== 0)) throw new Error(`LABELING_BUDGETS (${budgets}) must be multiples of LABELING_ROUND (${round})`);
  const keys = (process.env.LABELING_CONDITIONS ?? "a,b,c,d").split(",") as ConditionKey[];
  if (!keys.includes("a") || keys.some((k) => !(k in CONDITIONS)))
    throw new Error(`LABELING_CONDITIONS must be among a,b,c,d and include a (the baseline); got ${keys}`);
  const crowdOptions = {
    size: Number(process.env.LABELING_RATERS ?? 16),
    randomEvery: 4,
    noise: numbers(process.env.LABELING_NOISE, [0.25, 1]) as [number, number],
  };
  const train = { ...TRAIN_SETTINGS, ...JSON.parse(process.env.LABELING_TRAIN ?? "{}") } as typeof TRAIN_SETTINGS;
  const allLists = readRankFile(trainPath);
  const lists = allLists.slice(0, Number(process.env.LABELING_POOL ?? allLists.length));
  const dev = readRankFile(devPath);
  const pool = poolOf(lists);
  console.log(
    `data: pool of ${pool.length} groups (rank_train's lists of ${pool[0]?.texts.length}), test ${dev.length} lists (rank_dev, every pair) from ${REVIEWS_DIR}`,
  );
  console.log(
    `settings: seeds ${seeds.join(",")}; labels reported at ${budgets.join(", ")}; retrained every ${round} labels (warm-started); crowd of ${crowdOptions.size} raters, 1 in ${crowdOptions.randomEvery} answering at random, the others with noise σ ∈ [${crowdOptions.noise.join(", ")}] rank steps; conditions ${keys.join(",")}`,
  );
  console.log(`training (onnxruntime, no dropout; evaluation on tfjs ${backend.name}): ${JSON.stringify(train)}`);

  const work = mkdtempSync(join(tmpdir(), "ranklab-bench-labeling-"));
  const vocabDir = join(work, "vocab");
  mkdirSync(vocabDir);
  writeFileSync(
    join(vocabDir, "vocab.txt"),
    `${buildCharVocab(
      pool.flatMap((g) => g.texts),
      train.model.maxVocab,
    ).tokens.join("\n")}\n`,
  );
  const results = new Map<ConditionKey, { seed: number; rounds: RoundResult[] }[]>(keys.map((k) => [k, []]));
  const started = performance.now();
  try {
    for (const seed of seeds) {
      const crowd = makeCrowd(seed, crowdOptions);
      for (const key of keys) {
        const r = await runCondition(key, seed, { pool, crowd, dev, vocabDir, work, round, total, train });
        results.get(key)!.push({ seed, rounds: r.rounds });
        const curve = r.rounds.map((x) => `${x.labels}:${fmt(x.accuracy, 4)}`).join(" ");
        console.log(
          `seed ${seed} ${CONDITIONS[key].name}: ${curve} (${fmt(r.rounds.at(-1)!.seconds, 0)} s; groups by rankings ${r.coverage.map((c, i) => `${i}:${c}`).join(" ")}; mean reliability careless ${fmt(r.reliability.careless, 3)} vs careful ${fmt(r.reliability.careful, 3)})`,
        );
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  // Per condition: each reported budget's accuracy over seeds, and its mean against (a)'s.
  const at = (key: ConditionKey, labels: number) => results.get(key)!.map((s) => s.rounds.find((x) => x.labels === labels)!.accuracy);
  const stats = (xs: number[]) => {
    const m = mean(xs);
    const sd = Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / Math.max(1, xs.length - 1));
    return { mean: m, min: Math.min(...xs), max: Math.max(...xs), sd };
  };
  console.log(`\npairwise accuracy on rank_dev (${seeds.length} seeds: mean, min–max, sd; ratio = mean / (a)'s mean at the same labels):`);
  for (const key of keys) {
    console.log(CONDITIONS[key].name);
    console.log("| labels | mean | min–max | sd | per seed | vs (a) |");
    console.log("| ---: | ---: | ---: | ---: | --- | ---: |");
    for (const labels of results.get(key)![0]!.rounds.map((x) => x.labels)) {
      const s = stats(at(key, labels));
      const base = stats(at("a", labels)).mean;
      const mark = budgets.includes(labels) ? "**" : "";
      console.log(
        `| ${mark}${labels}${mark} | ${fmt(s.mean, 4)} | ${fmt(s.min, 4)}–${fmt(s.max, 4)} | ${fmt(s.sd, 4)} | ${at(key, labels)
          .map((x) => fmt(x, 4))
          .join(", ")} | ${fmt(s.mean / base, 3)}× |`,
      );
    }
  }
  const target = stats(at("a", total)).mean;
  console.log(`\n(a) at ${total} labels: ${fmt(target, 4)}`);
  for (const key of keys.filter((k) => k !== "a")) {
    const reached = results
      .get(key)![0]!
      .rounds.map((x) => x.labels)
      .find((labels) => stats(at(key, labels)).mean >= target);
    console.log(
      `${CONDITIONS[key].name} reaches it (mean over seeds) ${reached === undefined ? `with none of its budgets up to ${total} labels` : `at ${reached} labels`}`,
    );
  }
  if (keys.includes("d")) {
    const half = Math.floor(total / 2);
    const ok = results.get("d")![0]!.rounds.some((x) => x.labels <= half && stats(at("d", x.labels)).mean >= target);
    console.log(`acceptance: (d) ${ok ? "reaches" : "does NOT reach"} (a)'s ${total}-label accuracy with ≤${half} labels`);
  }
  console.log(`total ${fmt((performance.now() - started) / 1000, 0)} s`);
}
