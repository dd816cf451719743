/**
 * The loop's first reward model fine-tunes the reward base it is given (reward.baseModel,
 * prepare's models/reward-base), not a model from scratch: the real API on loopback,
 * labels through it, one training run of the daemon. A base that is not there (prepare
 * still running) leaves the first model to start from scratch.
 */
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiClient } from "@ranklab/api/client";
import { selectBackend } from "@ranklab/gpu-trainer/backend/select-backend";
import { DaemonConfigSchema, runNextTrainingRun } from "@ranklab/gpu-trainer/daemon/training-run";
import { generateRankLists, generateReviews } from "@ranklab/gpu-trainer/data/review-corpus";
import { loadBertDir, saveBertDir } from "@ranklab/gpu-trainer/io/bert-dir";
import { BertConfigSchema, bertParamSpecs } from "@ranklab/gpu-trainer/models/bert";
import { disposeParams, initParams } from "@ranklab/gpu-trainer/models/params";
import { rewardBaseFromClassifier } from "@ranklab/gpu-trainer/reward-model/reward-base";
import { buildCharVocab } from "@ranklab/gpu-trainer/tokenizer/build-vocab";
import { WordPieceTokenizer } from "@ranklab/gpu-trainer/tokenizer/wordpiece";
import { startApiDev, type ApiDev } from "../scripts/lib/api-dev.ts";
import { freePort } from "../scripts/lib/free-port.ts";
import { ProcessGroup } from "../scripts/lib/processes.ts";

const group = new ProcessGroup(() => {});
const home = mkdtempSync(join(tmpdir(), "ranklab-reward-base-"));
let api: ApiDev;
const admin = () => createApiClient(api.url, api.tokens.ADMIN_API_TOKEN);
const trainer = () => createApiClient(api.url, api.tokens.TRAINER_API_TOKEN);
const bot = () => createApiClient(api.url, api.tokens.BOT_API_TOKEN);

/** One prompt per generated rank list, its four texts as completions, ranked best first by one rater. */
async function label(lists: number, seed: number) {
  const rater = await (await bot().v1.raters.$post({ json: { externalId: `tg:${8000 + seed}` } })).json();
  const rankLists = generateRankLists(lists, seed);
  const { prompts } = await (await admin().v1.prompts.$post({ json: { prompts: rankLists.map((_, i) => ({ text: `第${seed}-${i}条：` })) } })).json();
  for (const [i, list] of rankLists.entries()) {
    const prompt = prompts.find((p) => p.text === `第${seed}-${i}条：`)!;
    const { completions } = await (
      await trainer().v1.completions.$post({ json: { completions: list.texts.map((text) => ({ promptId: prompt.id, text })) } })
    ).json();
    await bot().v1.rankings.$post({ json: { raterId: rater.id, promptId: prompt.id, completionIds: completions.map((c) => c.id), source: "telegram" } });
  }
}

const config = (reward: Record<string, unknown>) =>
  DaemonConfigSchema.parse({
    apiUrl: api.url,
    trainerToken: api.tokens.TRAINER_API_TOKEN,
    home: join(home, "daemon"),
    // Any first model goes live: the test is about where it starts, not how good a few steps make it.
    reward: { epochs: 3, firstModelMinAccuracy: 0, model: { hiddenSize: 32, layers: 1, heads: 2, intermediateSize: 64 }, ...reward },
    ppo: { steps: 0 },
    completionsPerPrompt: 0,
  });

beforeAll(async () => {
  await selectBackend("wasm");
  process.env.RANKLAB_HOME = home;
  api = await startApiDev({ port: await freePort(), group });
  // A 2-way classifier (untrained: what matters is where the reward model starts), 48 wide where scratch would be 32.
  const vocab = buildCharVocab(
    generateReviews(2000, 3).map((r) => r.text),
    4000,
  );
  const clsConfig = BertConfigSchema.parse({
    vocab_size: vocab.tokens.length,
    hidden_size: 48,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 96,
    max_position_embeddings: 64,
    num_labels: 2,
    classifier_pooling: "mean",
    reward_input: "concat",
  });
  saveBertDir(join(home, "classifier"), { config: clsConfig, tokenizer: new WordPieceTokenizer(vocab), params: initParams(bertParamSpecs(clsConfig), 5) });
  rewardBaseFromClassifier(join(home, "classifier"), join(home, "reward-base"));
}, 180_000);

afterAll(async () => {
  await group.stop();
  rmSync(home, { recursive: true, force: true });
});

describe("the reward base", () => {
  it("is what the daemon's first reward model fine-tunes, beside a from-scratch candidate on the same held-out pairs", async () => {
    await label(60, 1);
    await admin().v1["training-runs"].$post({ json: { kind: "full" } });
    // A second base compared on the same labels (the benchmark's LOOP_COMPARE_BASES): the classifier's own folder, kept apart.
    cpSync(join(home, "reward-base"), join(home, "other-base"), { recursive: true });
    const result = await runNextTrainingRun(
      config({ baseModel: join(home, "reward-base"), compareWithScratch: true, compareWithBases: [join(home, "other-base")] }),
      () => {},
    );
    const reward = result!.reward!;
    expect(reward.startedFrom).toBe("base");
    expect(reward.scratchAccuracy).toBeGreaterThanOrEqual(0);
    expect(reward.metrics.scratch_held_out_accuracy).toBe(reward.scratchAccuracy);
    const compared = reward.comparedAccuracy?.[join(home, "other-base")];
    expect(compared).toBeGreaterThanOrEqual(0);
    expect(compared).toBeLessThanOrEqual(1);
    expect(reward.metrics["compared_held_out_accuracy/other-base"]).toBe(compared);
    // The candidate is the base's encoder fine-tuned: its shape and reward input, not the scratch model's; its weights moved.
    const candidate = loadBertDir(reward.live!.dir);
    const base = loadBertDir(join(home, "reward-base"));
    try {
      expect(candidate.config).toMatchObject({ hidden_size: 48, num_labels: 1, reward_input: "concat" });
      const moved = (name: string) => {
        const a = candidate.params.get(name)!.dataSync();
        const b = base.params.get(name)!.dataSync();
        return a.some((x, i) => Math.abs(x - b[i]!) > 1e-6);
      };
      expect(moved("bert.embeddings.word_embeddings.weight")).toBe(true);
      expect(moved("classifier.weight")).toBe(true);
    } finally {
      disposeParams(candidate.params);
      disposeParams(base.params);
    }
    const published = await (await admin().v1.checkpoints[":id"].$get({ param: { id: String(reward.candidate.id) } })).json();
    expect(published.config).toMatchObject({ started_from: "base", base_model: join(home, "reward-base"), reward_input: "concat" });
  }, 300_000);

  it("once a reward model is active, the next warm-starts from it, not the base", async () => {
    await label(20, 2);
    await admin().v1["training-runs"].$post({ json: { kind: "full" } });
    const result = await runNextTrainingRun(config({ baseModel: join(home, "reward-base") }), () => {});
    expect(result!.reward!.startedFrom).toBe("active");
  }, 300_000);

  it("a base folder that is not there yet leaves the first model to start from scratch", async () => {
    // A fresh daemon home with no active model would need a fresh API; here the rule itself: a missing folder is no base.
    const { isModelDir } = await import("@ranklab/gpu-trainer/reward-model/reward-base");
    expect(isModelDir(join(home, "no-such-base"))).toBe(false);
    expect(isModelDir(join(home, "reward-base"))).toBe(true);
  });
});
