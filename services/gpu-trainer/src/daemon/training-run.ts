import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { tfjsDecoder } from "../generation/decoder-tfjs.ts";
import { generate } from "../generation/generate.ts";
import { loadGpt2Dir } from "../io/gpt2-dir.ts";
import { disposeParams } from "../models/params.ts";
import { PpoConfigSchema } from "../ppo/config.ts";
import { runPpoDemo } from "../ppo/sentiment-demo.ts";
import { toRankTsv } from "../data/review-corpus.ts";
import { trainRewardModel } from "../reward/train.ts";
import { RewardTrainConfigSchema } from "../reward/train-config.ts";
import { modelReward } from "../rewards/model-rewards.ts";
import { fetchActiveCheckpoint } from "../serve/checkpoint-sync.ts";
import { publishCheckpoint } from "../serve/publish-checkpoint.ts";
import { labelsToRankLists, type LeasedRanking, type LeasedScore } from "./labels.ts";

/** The daemon's settings; every default says why. */
export const DaemonConfigSchema = z
  .object({
    apiUrl: z.url(),
    trainerToken: z.string().min(16),
    trainer: z.string().min(1).max(128).default("gpu-trainer"),
    home: z.string().default(".ranklab/daemon"),
    // Labels a run takes at most; a lease outlives a run on 2 cores with room to spare.
    leaseLimit: z.number().int().min(1).max(2000).default(512),
    leaseSeconds: z.number().int().min(1).default(3600),
    // Every 5th rank list is held out to evaluate the new reward model.
    holdOutEvery: z.number().int().min(2).default(5),
    rewardEpochs: z.number().int().min(1).default(3),
    // PPO epochs on the active policy with the new reward model; 0 skips PPO.
    ppoEpochs: z.number().int().min(0).default(10),
    // A policy to start from when no policy checkpoint is active (e.g. prepare's).
    fallbackPolicyDir: z.string().optional(),
    completionsPerPrompt: z.number().int().min(0).max(16).default(4),
    pollSeconds: z.number().positive().default(10),
    // Small defaults: a from-scratch reward model when no reward checkpoint is active yet.
    rewardModel: z.object({ hiddenSize: z.number().int().default(64), layers: z.number().int().default(1), heads: z.number().int().default(2), intermediateSize: z.number().int().default(256) }).default({ hiddenSize: 64, layers: 1, heads: 2, intermediateSize: 256 }),
  })
  .strict();
export type DaemonConfig = z.infer<typeof DaemonConfigSchema>;

interface Run {
  id: number;
  kind: string;
}

/** The trainer's side of the API, with clear errors. */
function trainerApi(config: DaemonConfig) {
  const call = async <T>(what: string, path: string, init: RequestInit = {}): Promise<T> => {
    const res = await fetch(`${config.apiUrl}${path}`, { ...init, headers: { authorization: `Bearer ${config.trainerToken}`, "content-type": "application/json", ...(init.headers ?? {}) } });
    if (!res.ok) throw new Error(`${what}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  return {
    claim: () => call<{ run: Run | null }>("claiming a run", "/v1/training-runs/claim", { method: "POST", body: JSON.stringify({ trainer: config.trainer }) }),
    running: () => call<{ items: { id: number; trainer: string | null }[] }>("listing running runs", "/v1/training-runs?status=running"),
    requeue: (id: number) => call(`re-queueing run ${id}`, `/v1/training-runs/${id}`, { method: "PATCH", body: JSON.stringify({ status: "requested" }) }),
    finish: (id: number, status: "succeeded" | "failed", metrics: Record<string, number>, error?: string) =>
      call("updating the run", `/v1/training-runs/${id}`, { method: "PATCH", body: JSON.stringify({ status, metrics, ...(error ? { error: error.slice(0, 4000) } : {}) }) }),
    lease: () =>
      call<{ lease: { id: string } | null; rankings: LeasedRanking[]; scores: LeasedScore[] }>("leasing labels", "/v1/leases", {
        method: "POST",
        body: JSON.stringify({ holder: config.trainer, limit: config.leaseLimit, ttlSeconds: config.leaseSeconds }),
      }),
    /** Keeps the labels while a long phase runs: the lease then lasts only as long as the trainer does. */
    extend: (leaseId: string) => call("extending the lease", `/v1/leases/${leaseId}/extend`, { method: "POST", body: JSON.stringify({ ttlSeconds: config.leaseSeconds }) }),
    ack: (leaseId: string) => call<{ acknowledged: { rankings: number; scores: number } }>("acknowledging the lease", `/v1/leases/${leaseId}/ack`, { method: "POST" }),
    prompts: () => call<{ items: { id: number; text: string; active: boolean }[] }>("listing prompts", "/v1/prompts?limit=200"),
    postCompletions: (checkpointId: number | null, completions: { promptId: number; text: string }[]) =>
      call("posting completions", "/v1/completions", { method: "POST", body: JSON.stringify({ checkpointId, generation: { source: "trainer daemon" }, completions }) }),
  };
}

/**
 * Runs this trainer left "running" when it died (same trainer name) go back to
 * "requested", so they are claimed again and resume from <home>/run-<id>; their old
 * leases have expired or will, returning the labels to the pool.
 */
export async function requeueOwnRuns(config: DaemonConfig, log: (line: string) => void = console.log): Promise<number[]> {
  const api = trainerApi(config);
  const mine = (await api.running()).items.filter((r) => r.trainer === config.trainer).map((r) => r.id);
  for (const id of mine) {
    await api.requeue(id);
    log(`run ${id}: left running by an earlier ${config.trainer}; requested again`);
  }
  return mine;
}

/** The policy to generate with: the active policy checkpoint, or else the fallback folder when it is complete. */
export async function currentPolicy(config: DaemonConfig): Promise<{ dir: string; checkpointId: number | null } | undefined> {
  const active = await fetchActiveCheckpoint(config.apiUrl, config.trainerToken, "policy", config.home);
  if (active) return { dir: active.dir, checkpointId: active.ref.id };
  if (config.fallbackPolicyDir && existsSync(join(config.fallbackPolicyDir, "config.json"))) return { dir: config.fallbackPolicyDir, checkpointId: null };
  return undefined;
}

/** Continuations of every active prompt from `policyDir`, posted to the API (500 a request, its limit). */
export async function postFreshCompletions(config: DaemonConfig, policyDir: string, checkpointId: number | null, seed: number): Promise<number> {
  const api = trainerApi(config);
  const model = loadGpt2Dir(policyDir);
  try {
    const tok = model.tokenizer;
    const prompts = (await api.prompts()).items.filter((p) => p.active);
    const rows = prompts.flatMap((p) => Array.from({ length: config.completionsPerPrompt }, () => p));
    const out = await generate(tfjsDecoder(model), rows.map((p) => [tok.cls, ...tok.encodeText(p.text)]), {
      maxNewTokens: 32, temperature: 1, topK: 0, topP: 0.95, seed, stopTokens: [tok.sep], padToken: tok.pad, bannedTokens: [tok.pad, tok.cls, tok.unk],
    });
    const completions = rows.map((p, i) => ({ promptId: p.id, text: tok.decode(out[i]!) })).filter((c) => c.text.trim() !== "");
    for (let start = 0; start < completions.length; start += 500) await api.postCompletions(checkpointId, completions.slice(start, start + 500));
    return completions.length;
  } finally {
    disposeParams(model.params);
  }
}

export interface RunResult {
  runId: number;
  leased: { rankings: number; scores: number };
  rewardCheckpoint?: { id: number; version: number };
  policyCheckpoint?: { id: number; version: number };
  heldOutAccuracy?: number;
  completionsPosted: number;
}

/**
 * One training run, if one is requested: lease the new labels, train the reward model
 * further on them (from the active reward checkpoint, or from scratch), evaluate on a
 * held-out slice, publish and activate it; run PPO on the active policy with it and
 * publish that; post fresh completions for the active prompts; acknowledge the lease.
 * A crash leaves the lease to expire (its labels return to the pool) and the reward
 * model's state in <home>/run-<id> for the next attempt at this run.
 */
export async function runOnce(config: DaemonConfig, log: (line: string) => void = console.log): Promise<RunResult | undefined> {
  const api = trainerApi(config);
  const { run } = await api.claim();
  if (!run) return undefined;
  const runDir = join(config.home, `run-${run.id}`);
  mkdirSync(runDir, { recursive: true });
  log(`run ${run.id}: claimed`);
  try {
    const leased = await api.lease();
    if (!leased.lease) {
      await api.finish(run.id, "succeeded", { labels: 0 });
      log(`run ${run.id}: no new labels; nothing to train`);
      return { runId: run.id, leased: { rankings: 0, scores: 0 }, completionsPosted: 0 };
    }
    const lists = labelsToRankLists(leased.rankings, leased.scores);
    const dev = lists.filter((_, i) => i % config.holdOutEvery === config.holdOutEvery - 1);
    const train = lists.filter((_, i) => i % config.holdOutEvery !== config.holdOutEvery - 1);
    log(`run ${run.id}: leased ${leased.rankings.length} rankings and ${leased.scores.length} scores → ${train.length} train and ${dev.length} held-out rank lists`);
    const result: RunResult = { runId: run.id, leased: { rankings: leased.rankings.length, scores: leased.scores.length }, completionsPosted: 0 };

    if (train.length > 0 && dev.length > 0) {
      // 1. The reward model, continued from the active one.
      writeFileSync(join(runDir, "train.tsv"), toRankTsv(train));
      writeFileSync(join(runDir, "dev.tsv"), toRankTsv(dev));
      const active = await fetchActiveCheckpoint(config.apiUrl, config.trainerToken, "reward", config.home);
      const rm = RewardTrainConfigSchema.parse({
        train: [join(runDir, "train.tsv")],
        dev: join(runDir, "dev.tsv"),
        out: join(runDir, "reward"),
        logsDir: join(runDir, "logs"),
        epochs: config.rewardEpochs,
        maxLength: 64,
        evalEvery: 50,
        quiet: true,
        ...(active ? { baseModel: active.dir, learningRate: 3e-4 } : { model: { ...config.rewardModel, maxVocab: 6000 } }),
      });
      const trained = await trainRewardModel(rm, log);
      await api.extend(leased.lease.id);
      result.heldOutAccuracy = trained.bestAccuracy;
      const published = await publishCheckpoint(config.apiUrl, config.trainerToken, trained.bestDir, { kind: "reward", metrics: { held_out_accuracy: trained.bestAccuracy, rank_lists: train.length }, trainingRunId: run.id, activate: true });
      result.rewardCheckpoint = { id: published.id, version: published.version };
      log(`run ${run.id}: reward checkpoint v${published.version} active (held-out pairwise accuracy ${trained.bestAccuracy.toFixed(4)})`);

      // 2. PPO on the active policy with the new reward model.
      const policy = (await currentPolicy(config))?.dir;
      if (config.ppoEpochs > 0 && policy) {
        const reward = await modelReward(trained.bestDir);
        const prompts = (await api.prompts()).items.filter((p) => p.active).map((p) => p.text);
        const history = await runPpoDemo(
          { policyDir: policy, epochs: config.ppoEpochs, prompts, out: join(runDir, "policy"), logsDir: join(runDir, "logs"), runName: "ppo", engine: "onnx", samplesShown: 0, quiet: true, ppo: PpoConfigSchema.parse({ batchSize: 32, miniBatchSize: 8, generation: { maxNewTokens: 24 } }) },
          reward,
          () => {},
        );
        await reward.close?.();
        await api.extend(leased.lease.id);
        const last = history.at(-1);
        const pub = await publishCheckpoint(config.apiUrl, config.trainerToken, join(runDir, "policy"), { kind: "policy", metrics: last ? { mean_reward: last.meanReward, kl: last.kl } : {}, trainingRunId: run.id, activate: true });
        result.policyCheckpoint = { id: pub.id, version: pub.version };
        log(`run ${run.id}: policy checkpoint v${pub.version} active (mean reward ${last?.meanReward.toFixed(3)})`);
      } else {
        log(`run ${run.id}: no policy to improve (none active, no fallback) or PPO off; skipping PPO`);
      }
    }

    // 3. Fresh completions from the active policy (or the fallback), so raters always have new work.
    const policyNow = await currentPolicy(config);
    if (config.completionsPerPrompt > 0 && policyNow) {
      result.completionsPosted = await postFreshCompletions(config, policyNow.dir, policyNow.checkpointId, run.id);
      log(`run ${run.id}: posted ${result.completionsPosted} new completions from ${policyNow.checkpointId ? `policy checkpoint ${policyNow.checkpointId}` : "the fallback policy"}`);
    }

    // 4. Done: the labels are trained.
    const ack = await api.ack(leased.lease.id);
    await api.finish(run.id, "succeeded", {
      rankings: ack.acknowledged.rankings,
      scores: ack.acknowledged.scores,
      ...(result.heldOutAccuracy !== undefined ? { held_out_accuracy: result.heldOutAccuracy } : {}),
    });
    log(`run ${run.id}: succeeded; acknowledged ${ack.acknowledged.rankings} rankings and ${ack.acknowledged.scores} scores`);
    return result;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log(`run ${run.id}: failed: ${message}`);
    await api.finish(run.id, "failed", {}, message).catch(() => {});
    throw err;
  }
}
