/**
 * POST /v1/score end to end: the Worker under wrangler dev forwards to the scorer
 * (onnxruntime-node), which serves the active reward checkpoint published through the
 * API (R2) and swaps to a newly activated one without dropping requests.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "@ranklab/gpu-trainer/backend/select-backend";
import { generateRankLists, toRankTsv } from "@ranklab/gpu-trainer/data/review-corpus";
import { trainRewardModel } from "@ranklab/gpu-trainer/reward-model/train";
import { RewardTrainConfigSchema } from "@ranklab/gpu-trainer/reward-model/train-config";
import { publishCheckpoint } from "@ranklab/gpu-trainer/checkpoints/publish";
import { trainerApi } from "@ranklab/gpu-trainer/ranklab-api";
import { startScorerServer } from "@ranklab/gpu-trainer/serve/scorer-server";
import { startApiDev, type ApiDev } from "../scripts/lib/api-dev.ts";
import { freePort } from "../scripts/lib/free-port.ts";
import { ProcessGroup } from "../scripts/lib/processes.ts";

const group = new ProcessGroup(() => {});
const home = mkdtempSync(join(tmpdir(), "ranklab-score-"));
let api: ApiDev;
let scorer: Awaited<ReturnType<typeof startScorerServer>>;
const GOOD = "说实话，真的很满意，质量很好，物流很快。强烈推荐！";
const BAD = "说实话，真的很失望，质量很差，物流太慢了。差评！";

/** A tiny reward model trained on generated rank lists (seconds). */
async function tinyRewardModel(seed: number): Promise<string> {
  const dir = join(home, `rm-${seed}`);
  const train = generateRankLists(160, seed);
  writeFileSync(join(home, `train-${seed}.tsv`), toRankTsv(train));
  writeFileSync(join(home, `dev-${seed}.tsv`), toRankTsv(generateRankLists(20, seed + 100, new Set(train.flatMap((l) => l.texts)))));
  const config = RewardTrainConfigSchema.parse({
    train: [join(home, `train-${seed}.tsv`)],
    dev: join(home, `dev-${seed}.tsv`),
    out: dir,
    logsDir: join(home, "logs"),
    maxLength: 64,
    epochs: 3,
    learningRate: 2e-3,
    evalEvery: 60,
    quiet: true,
    seed,
    model: { hiddenSize: 32, layers: 1, heads: 2, intermediateSize: 64, maxVocab: 800 },
  });
  const result = await trainRewardModel(config, () => {});
  return result.bestDir;
}

const score = async (texts: string[]) => {
  const res = await fetch(`${api.url}/v1/score`, {
    method: "POST",
    headers: { authorization: `Bearer ${api.tokens.BOT_API_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ texts }),
  });
  return {
    status: res.status,
    body: (await res.json()) as {
      scores: number[];
      normalizedScores: number[] | null;
      checkpoint: { id: number; version: number; rewardMean: number | null; rewardStd: number | null };
    } & { error?: { code: string } },
  };
};

beforeAll(async () => {
  await selectBackend("wasm");
  process.env.RANKLAB_HOME = home;
  const scorerPort = await freePort();
  api = await startApiDev({ port: await freePort(), group, vars: { SCORER_URL: `http://127.0.0.1:${scorerPort}` } });
  scorer = await startScorerServer({ port: scorerPort, apiUrl: api.url, apiToken: api.tokens.TRAINER_API_TOKEN, home, pollSeconds: 3600, log: () => {} });
}, 180_000);

afterAll(async () => {
  await scorer?.stop();
  await group.stop();
  rmSync(home, { recursive: true, force: true });
});

describe("the scoring endpoint", () => {
  it("answers 503 until a reward checkpoint is active", async () => {
    const { status, body } = await score([GOOD]);
    expect(status).toBe(503);
    expect(body.error?.code).toBe("scoring_unavailable");
  });

  it("scores with the active reward checkpoint: a positive review above a negative one", async () => {
    const published = await publishCheckpoint(trainerApi(api.url, api.tokens.TRAINER_API_TOKEN), await tinyRewardModel(1), {
      kind: "reward",
      metrics: { accuracy: 1 },
      activate: true,
    });
    await scorer.syncNow();
    const { status, body } = await score([GOOD, BAD]);
    expect(status).toBe(200);
    expect(body.checkpoint.id).toBe(published.id);
    expect(body.checkpoint.version).toBe(published.version);
    expect(body.scores[0]).toBeGreaterThan(body.scores[1]!);
    // Beside each raw score, the score on the checkpoint's own scale (its training completions' mean and std).
    const { rewardMean, rewardStd } = body.checkpoint;
    expect(rewardStd).toBeGreaterThan(0);
    expect(body.normalizedScores).toHaveLength(2);
    body.normalizedScores!.forEach((n, i) => expect(n).toBeCloseTo((body.scores[i]! - rewardMean!) / rewardStd!, 5));
  }, 120_000);

  it("swaps to a newly activated checkpoint without dropping a request", async () => {
    const second = await publishCheckpoint(trainerApi(api.url, api.tokens.TRAINER_API_TOKEN), await tinyRewardModel(2), { kind: "reward", activate: true });
    // Requests in flight across the swap all succeed; later ones use the new checkpoint.
    const during = Array.from({ length: 24 }, (_, i) => score([i % 2 ? GOOD : BAD]));
    await scorer.syncNow();
    const answers = await Promise.all(during);
    expect(answers.map((a) => a.status)).toEqual(Array(24).fill(200));
    const after = await score([GOOD, BAD]);
    expect(after.body.checkpoint.id).toBe(second.id);
    expect(after.body.scores[0]).toBeGreaterThan(after.body.scores[1]!);
  }, 120_000);
});
