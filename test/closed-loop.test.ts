/**
 * The closed loop on loopback: labels arrive through the API as raters would send
 * them, a training run is requested, the trainer daemon leases them, reads the label
 * history, trains a reward-model candidate, gates it on held-out pairs, publishes it
 * (activated or rejected), acknowledges exactly the labels it used, runs PPO against the
 * fixed reference and gates the policy, and posts fresh completions; /v1/score then
 * answers with the live checkpoint. Too few labels are given back untrained. A trainer
 * process killed mid-run leaves its labels to return to the pool, and the restarted
 * trainer takes the run back and finishes it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiClient } from "@ranklab/api/client";
import { selectBackend } from "@ranklab/gpu-trainer/backend/select-backend";
import { DaemonConfigSchema, runNextTrainingRun, type DaemonConfig } from "@ranklab/gpu-trainer/daemon/training-run";
import { generateRankLists, generateReviews } from "@ranklab/gpu-trainer/data/review-corpus";
import { saveGpt2Dir } from "@ranklab/gpu-trainer/io/gpt2-dir";
import { gpt2ParamSpecs, Gpt2ConfigSchema } from "@ranklab/gpu-trainer/models/gpt2";
import { initParams } from "@ranklab/gpu-trainer/models/params";
import { startScorerServer } from "@ranklab/gpu-trainer/serve/scorer-server";
import { buildCharVocab } from "@ranklab/gpu-trainer/tokenizer/build-vocab";
import { WordPieceTokenizer } from "@ranklab/gpu-trainer/tokenizer/wordpiece";
import { startApiDev, type ApiDev } from "../scripts/lib/api-dev.ts";
import { freePort } from "../scripts/lib/free-port.ts";
import { REPO_ROOT } from "../scripts/lib/local-env.ts";
import { ProcessGroup } from "../scripts/lib/processes.ts";

const group = new ProcessGroup(() => {});
const TSX = join(REPO_ROOT, "node_modules/.bin/tsx");

async function waitFor(check: () => boolean, what: string, lines: string[], timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the trainers said:\n${lines.join("\n")}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
const home = mkdtempSync(join(tmpdir(), "ranklab-loop-"));
let api: ApiDev;
let scorer: Awaited<ReturnType<typeof startScorerServer>>;
const GOOD = "说实话，真的很满意，质量很好，物流很快。强烈推荐！";
const BAD = "说实话，真的很失望，质量很差，物流太慢了。差评！";

const admin = () => createApiClient(api.url, api.tokens.ADMIN_API_TOKEN);
const trainer = () => createApiClient(api.url, api.tokens.TRAINER_API_TOKEN);
const bot = () => createApiClient(api.url, api.tokens.BOT_API_TOKEN);

/**
 * Raters' work: one prompt per generated rank list, its four texts as completions, ranked
 * best first. `hostile` lists get a newline, a tab and a CR inside their best text.
 */
async function labelAsRaters(lists: number, seed: number, hostile = 0) {
  const rater = await (await bot().v1.raters.$post({ json: { externalId: `tg:${7000 + seed}` } })).json();
  const rankLists = generateRankLists(lists, seed).map((l, i) => (i < hostile ? { texts: [`${l.texts[0]}\n第二行\t制表符\r回车`, ...l.texts.slice(1)] } : l));
  const { prompts } = await (await admin().v1.prompts.$post({ json: { prompts: rankLists.map((_, i) => ({ text: `第${seed}-${i}条评论：` })) } })).json();
  for (const [i, list] of rankLists.entries()) {
    const prompt = prompts.find((p) => p.text === `第${seed}-${i}条评论：`)!;
    const { completions } = await (
      await trainer().v1.completions.$post({ json: { completions: list.texts.map((text) => ({ promptId: prompt.id, text })) } })
    ).json();
    const res = await bot().v1.rankings.$post({
      json: { raterId: rater.id, promptId: prompt.id, completionIds: completions.map((c) => c.id), source: "telegram" },
    });
    expect(res.status).toBe(201);
  }
  return rankLists.length;
}

const daemonConfig = (over: { reward?: Record<string, unknown>; ppo?: Record<string, unknown>; policy?: Record<string, unknown> } = {}): DaemonConfig =>
  DaemonConfigSchema.parse({
    apiUrl: api.url,
    trainerToken: api.tokens.TRAINER_API_TOKEN,
    home: join(home, "daemon"),
    reward: { epochs: 4, model: { hiddenSize: 32, layers: 1, heads: 2, intermediateSize: 64 }, ...over.reward },
    ppo: { steps: 1, evalSamples: 16, ...over.ppo },
    // PPO unless a test names another algorithm: these tests check PPO's own figures, whatever the daemon's default.
    policy: { algorithm: "ppo", ...over.policy },
    completionsPerPrompt: 1,
    fallbackPolicyDir: join(home, "policy"),
  });

const activeId = async (kind: "reward" | "policy") => {
  const res = await admin().v1.checkpoints.active[":kind"].$get({ param: { kind } });
  return res.status === 404 ? undefined : (await res.json()).id;
};
/** Trained labels, as the API's label history lists them. */
const trainedRankings = async () => (await (await trainer().v1.labels.$get({ query: { kind: "ranking" } })).json()).rankings;

beforeAll(async () => {
  await selectBackend("wasm");
  process.env.RANKLAB_HOME = home;
  const scorerPort = await freePort();
  api = await startApiDev({ port: await freePort(), group, vars: { SCORER_URL: `http://127.0.0.1:${scorerPort}` } });
  scorer = await startScorerServer({
    port: scorerPort,
    apiUrl: api.url,
    apiToken: api.tokens.TRAINER_API_TOKEN,
    home: join(home, "scorer"),
    pollSeconds: 3600,
    log: () => {},
  });
  // A tiny untrained policy for PPO to start from (no policy checkpoint is active yet).
  const vocab = buildCharVocab(
    generateReviews(2000, 3).map((r) => r.text),
    4000,
  );
  const config = Gpt2ConfigSchema.parse({ vocab_size: vocab.tokens.length, n_positions: 96, n_embd: 16, n_layer: 1, n_head: 2 });
  saveGpt2Dir(join(home, "policy"), { config, tokenizer: new WordPieceTokenizer(vocab), params: initParams(gpt2ParamSpecs(config), 1), hasValueHead: false });
}, 180_000);

afterAll(async () => {
  await scorer?.stop();
  await group.stop();
  rmSync(home, { recursive: true, force: true });
});

describe("the closed loop", () => {
  it("gives too few labels back untrained and acknowledges nothing", async () => {
    await labelAsRaters(1, 9);
    await admin().v1["training-runs"].$post({ json: { kind: "full" } });
    const lines: string[] = [];
    const result = await runNextTrainingRun(daemonConfig(), (l) => lines.push(l));
    expect(result?.leased).toEqual({ rankings: 1, scores: 0 });
    expect(result?.released).toMatch(/too few labels: \d+ train pairs \(need 12\) and \d+ held-out pairs/);
    expect(result?.used).toEqual({ rankings: 0, scores: 0 });
    expect(result?.reward).toBeUndefined();
    expect(await trainedRankings()).toEqual([]);
    expect(await activeId("reward")).toBeUndefined();
    // Back in the pool at once (not after the lease's hour): the next lease takes it.
    const again = await (await trainer().v1.leases.$post({ json: { holder: "check" } })).json();
    expect(again.rankings).toHaveLength(1);
    await trainer().v1.leases[":id"].release.$post({ param: { id: again.lease!.id }, json: { reason: "test: back to the pool" } });
    const run = (await (await admin().v1["training-runs"].$get({ query: {} })).json()).items[0]!;
    expect(run).toMatchObject({ status: "succeeded", summary: expect.stringContaining("released the lease: too few labels") });
  }, 120_000);

  it("trains on texts with a newline, a tab and a CR, publishes a gated reward model /v1/score uses, and acknowledges every label it used once", async () => {
    const posted = (await labelAsRaters(120, 1, 10)) + 1; // + the one the first run gave back
    // An admin marks three of the ranked groups as gold, in the order the rater gave: the rater's reliability rests on them too.
    const ranked = (await (await admin().v1.rankings.$get({ query: { limit: "3" } })).json()).items;
    for (const r of ranked) {
      const res = await admin().v1["gold-groups"].$post({
        json: { promptId: r.promptId, completionIds: r.completions.map((c) => c.id), levels: r.completions.map((c) => c.level) },
      });
      expect(res.status).toBe(201);
    }
    await admin().v1["training-runs"].$post({ json: { kind: "full" } });
    const result = await runNextTrainingRun(daemonConfig(), () => {});
    const raterId = ranked[0]!.raterId;
    expect(result?.reward?.metrics).toMatchObject({ gold_groups: 3, [`reliability_gold_judgements/rater_${raterId}`]: 18 });
    expect(result!.reward!.metrics[`reliability/rater_${raterId}`]).toBeGreaterThan(0.9);
    expect(result?.leased).toEqual({ rankings: posted, scores: 0 });
    expect(result?.used).toEqual({ rankings: posted, scores: 0 });
    expect(result?.reward?.verdict).toEqual({ activate: true });
    expect(result?.reward?.candidateAccuracy).toBeGreaterThan(0.8);
    expect(result?.reward?.heldOutPairs).toBeGreaterThan(30);

    const active = await activeId("reward");
    expect(active).toBe(result!.reward!.candidate.id);
    // The policy was trained against the fixed reference and gated; published either way, with its figures.
    const policy = result!.policy!;
    expect(policy.algorithm).toBe("ppo");
    expect(policy.metrics).toMatchObject({ "algorithm/ppo": 1, "env/reward_mean": expect.any(Number), "objective/kl": expect.any(Number) });
    // A Monte Carlo estimate over 16 samples: near 0 after one small step, either sign.
    expect(Number.isFinite(policy.metrics["eval/kl_to_reference"])).toBe(true);
    expect(policy.metrics["eval/distinct_2"]).toBeGreaterThan(0);
    expect(await activeId("policy")).toBe(policy.verdict.activate ? policy.published.id : undefined);

    await scorer.syncNow();
    const res = await fetch(`${api.url}/v1/score`, {
      method: "POST",
      headers: { authorization: `Bearer ${api.tokens.BOT_API_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ texts: [GOOD, BAD] }),
    });
    const body = (await res.json()) as { scores: number[]; checkpoint: { id: number } };
    expect(body.checkpoint.id).toBe(active);
    expect(body.scores[0]).toBeGreaterThan(body.scores[1]!);

    // Acknowledged once: nothing is left to lease, the hostile texts are stored intact, and the run says what it used.
    const again = await (await trainer().v1.leases.$post({ json: { holder: "check" } })).json();
    expect(again.lease).toBeNull();
    const trained = await trainedRankings();
    expect(trained).toHaveLength(posted);
    expect(trained.filter((r) => r.completions[0]!.text.endsWith("\n第二行\t制表符\r回车"))).toHaveLength(10);
    const run = (await (await admin().v1["training-runs"].$get({ query: {} })).json()).items[0]!;
    expect(run).toMatchObject({ status: "succeeded", metrics: { "labels/used_rankings": posted, "labels/used_scores": 0, "reward/activated": 1 } });
    expect(result!.completionsPosted).toBeGreaterThan(0);
    // The live model scored what raters may rank next (every completion of the active prompts).
    expect((run.metrics as Record<string, number>)["completions/rewards_posted"]).toBeGreaterThanOrEqual(posted * 4);
  }, 300_000);

  it("rejects a worse candidate: published as rejected with the reason, the active reward model stays and PPO uses it", async () => {
    const before = await activeId("reward");
    await labelAsRaters(20, 3);
    await admin().v1["training-runs"].$post({ json: { kind: "full" } });
    // A learning rate this large wrecks the warm-started model: its held-out accuracy falls below the active one's.
    const result = await runNextTrainingRun(daemonConfig({ reward: { epochs: 2, warmLearningRate: 0.5 }, ppo: { steps: 0 } }), () => {});
    expect(result?.reward?.verdict.activate).toBe(false);
    expect(result!.reward!.candidateAccuracy).toBeLessThan(result!.reward!.activeAccuracy!);
    expect(await activeId("reward")).toBe(before);
    expect(result!.reward!.live?.ref.id).toBe(before);
    const rejected = await (await admin().v1.checkpoints[":id"].$get({ param: { id: String(result!.reward!.candidate.id) } })).json();
    expect(rejected).toMatchObject({ active: false, rejectedReason: expect.stringContaining("< the active model's") });
    // Its labels were trained on (by the rejected candidate) and are acknowledged all the same.
    expect(result?.used.rankings).toBe(20);
  }, 300_000);

  // The same loop with the other algorithms (policy.algorithm): the labels go in, a gated policy comes out, each label is acknowledged once.
  it.each([
    [
      "grpo",
      4,
      { grpo: { batchSize: 8, groupSize: 4, miniBatchSize: 4, generation: { maxNewTokens: 8 } } },
      ["reward", "reward_std", "kl", "clip_ratio", "completions/mean_length", "entropy"],
    ],
    [
      "dpo",
      5,
      { dpo: { batchSize: 16, maxPairs: 64 } },
      ["loss", "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected", "eval/rewards/accuracies"],
    ],
  ] as const)(
    "runs with policy.algorithm %s: labels in, gated policy out, acknowledged once",
    async (algorithm, seed, settings, trlKeys) => {
      const posted = await labelAsRaters(12, seed);
      await admin().v1["training-runs"].$post({ json: { kind: "full" } });
      const lines: string[] = [];
      const result = await runNextTrainingRun(daemonConfig({ reward: { epochs: 1 }, policy: { algorithm, ...settings } }), (l) => lines.push(l));
      expect(result?.used).toEqual({ rankings: posted, scores: 0 });
      const policy = result!.policy!;
      expect(policy.algorithm).toBe(algorithm);
      for (const key of trlKeys) expect(Number.isFinite(policy.metrics[key]), key).toBe(true);
      expect(policy.metrics[`algorithm/${algorithm}`]).toBe(1);
      expect(Number.isFinite(policy.metrics["eval/kl_to_reference"])).toBe(true);
      expect(lines.some((l) => l.includes(`policy checkpoint v${policy.published.version} (${algorithm})`))).toBe(true);
      if (policy.verdict.activate) expect(await activeId("policy")).toBe(policy.published.id);
      const checkpoint = await (await admin().v1.checkpoints[":id"].$get({ param: { id: String(policy.published.id) } })).json();
      expect(checkpoint).toMatchObject({ kind: "policy", active: policy.verdict.activate });
      const run = (await (await admin().v1["training-runs"].$get({ query: {} })).json()).items[0]!;
      expect(run).toMatchObject({
        status: "succeeded",
        summary: expect.stringContaining(`(${algorithm})`),
        metrics: { [`policy/algorithm/${algorithm}`]: 1, "labels/used_rankings": posted },
      });
      // Acknowledged once: nothing left to lease.
      const again = await (await trainer().v1.leases.$post({ json: { holder: "check" } })).json();
      expect(again.lease).toBeNull();
    },
    300_000,
  );

  it("trains what the run's kind says: reward alone (no policy), or the policy alone with the active reward model and no lease", async () => {
    const posted = await labelAsRaters(12, 6);
    await admin().v1["training-runs"].$post({ json: { kind: "reward" } });
    const rewardOnly = await runNextTrainingRun(daemonConfig({ reward: { epochs: 1 } }), () => {});
    expect(rewardOnly).toMatchObject({ kind: "reward", used: { rankings: posted, scores: 0 } });
    expect(rewardOnly?.reward).toBeDefined();
    expect(rewardOnly?.policy).toBeUndefined();
    const rewardNow = await activeId("reward");

    // A policy-only run (asked for by its old name, ppo): the new labels stay in the pool for the next reward model.
    const waiting = await labelAsRaters(3, 8);
    expect((await (await admin().v1["training-runs"].$post({ json: { kind: "ppo" } })).json()).kind).toBe("policy");
    const lines: string[] = [];
    const policyOnly = await runNextTrainingRun(daemonConfig(), (l) => lines.push(l));
    expect(policyOnly).toMatchObject({ kind: "policy", leased: { rankings: 0, scores: 0 }, used: { rankings: 0, scores: 0 } });
    expect(policyOnly?.reward).toBeUndefined();
    expect(policyOnly?.policy?.algorithm).toBe("ppo");
    expect(policyOnly?.summary).toContain(`policy only, with reward checkpoint ${rewardNow}`);
    expect(lines[0]).toMatch(/claimed \(policy only\)/);
    expect(await activeId("reward")).toBe(rewardNow);
    const pool = await (await trainer().v1.leases.$post({ json: { holder: "check" } })).json();
    expect(pool.rankings).toHaveLength(waiting);
    // Marked trained here, so the next test leases only its own labels.
    await trainer().v1.leases[":id"].ack.$post({ param: { id: pool.lease!.id }, json: {} });
  }, 300_000);

  it("survives a trainer killed mid-run: the labels return to the pool and the restarted trainer finishes the run", async () => {
    const posted = await labelAsRaters(30, 2);
    await admin().v1["training-runs"].$post({ json: { kind: "reward" } });
    const daemonEnv = (epochs: number, leaseSeconds: number) => ({
      ...process.env,
      RANKLAB_API_URL: api.url,
      TRAINER_API_TOKEN: api.tokens.TRAINER_API_TOKEN,
      RANKLAB_HOME: join(home, "killed"),
      TRAINER_NAME: "trainer-a",
      TRAINER_POLL_SECONDS: "1",
      TRAINER_PPO_STEPS: "0",
      TRAINER_REWARD_EPOCHS: String(epochs),
      TRAINER_CONFIG: JSON.stringify({ reward: { model: { hiddenSize: 32, layers: 1, heads: 2, intermediateSize: 64 } } }),
      TRAINER_LEASE_SECONDS: String(leaseSeconds),
    });
    const lines: string[] = [];
    const logs = new ProcessGroup((l) => lines.push(l));
    const daemon = join(REPO_ROOT, "services/gpu-trainer/src/daemon/main.ts");
    // The first trainer trains for long; kill it (SIGKILL: no clean-up) once it has leased the labels.
    const first = logs.start("trainer-1", TSX, [daemon], { cwd: REPO_ROOT, env: daemonEnv(500, 3) });
    await waitFor(() => lines.some((l) => l.includes(`leased ${posted} rankings`)), "the first trainer to lease", lines);
    process.kill(-first.pid!, "SIGKILL");
    const runs = await (await admin().v1["training-runs"].$get({ query: { status: "running" } })).json();
    expect(runs.items).toHaveLength(1);
    // Its lease expires (3 s) and the labels are back in the pool; the restarted trainer takes its run back.
    await new Promise((r) => setTimeout(r, 3500));
    logs.start("trainer-2", TSX, [daemon], { cwd: REPO_ROOT, env: daemonEnv(2, 600) });
    await waitFor(() => lines.some((l) => l.includes("succeeded; used")), "the restarted trainer to finish", lines);
    await logs.stop();
    expect(lines.some((l) => l.includes("left running by an earlier trainer-a; requested again"))).toBe(true);
    expect(lines.find((l) => l.includes("succeeded; used"))).toContain(`used ${posted} rankings and 0 scores`);
    const run = (await (await admin().v1["training-runs"].$get({ query: {} })).json()).items[0]!;
    expect(run).toMatchObject({ id: runs.items[0]!.id, status: "succeeded" });
    const again = await (await trainer().v1.leases.$post({ json: { holder: "check" } })).json();
    expect(again.lease).toBeNull();
  }, 300_000);
});
