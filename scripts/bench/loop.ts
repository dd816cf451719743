/**
 * `npm run bench loop`: does the loop learn its raters' taste without collapsing, and how
 * much of what the same PPO steps could reach does it get? The real services on loopback
 * (the API under wrangler dev with D1 and R2, the labeler bot on a local Bot API server
 * with the three simulated raters, the trainer's runs in this process), for LOOP_RUNS
 * training runs (default 8), with the daemon's policy.algorithm LOOP_ALGORITHM (ppo, grpo,
 * dpo; default the daemon's), or LOOP_ALGORITHM=all: the three loops one after another, each from
 * the same start with its own fresh API and the same raters, prompts, judge and oracle,
 * then a table (gold gain, share of the oracle's gain, KL, distinct-2, labels, CPU minutes).
 *
 * The gold: the raters' own taste, which the trainer never sees. On real reviews (when
 * ../shared/data/corpora exists) it is the taste model learned from the real rank lists
 * (scripts/lib/build-taste.ts; standardised score); on generated reviews, liking().
 * Before the first run and after each, the active policy is judged on fresh samples (one
 * seed for all: common random numbers): the gold reward ± its standard error, distinct-2,
 * KL to the reference, against the labels used so far (label efficiency). The first
 * reward model fine-tunes prepare's reward base (reward.baseModel; LOOP_REWARD_BASE=none
 * for from scratch, or a folder for another base), and in that run a from-scratch candidate
 * (and one from each folder in LOOP_COMPARE_BASES) is trained on the same labels and scored
 * on the same held-out pairs. At the end, the oracle: the same number of PPO
 * steps from the same start with the gold itself as the reward; the loop's gold gain as a
 * share of the oracle's. Every judged sample goes to logs/loop-samples-<time>.jsonl.
 *
 * Models: prepare's defaults, made once under LOOP_MODELS_HOME (default .ranklab, where
 * `npm start` keeps them), so the benchmark's minutes go to the loop itself; from the
 * real reviews in ../shared/data/corpora when that folder exists, as `npm start` makes them.
 */
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createApiClient } from "@ranklab/api/client";
import { selectBackend } from "@ranklab/gpu-trainer/backend/select-backend";
import { DaemonConfigSchema, type DaemonSettings } from "@ranklab/gpu-trainer/daemon/config";
import type { PolicyAlgorithm } from "@ranklab/gpu-trainer/daemon/policy-algorithms";
import { evaluatePolicy, type PolicyEvaluation } from "@ranklab/gpu-trainer/daemon/policy-eval";
import { currentPolicy, referencePolicy } from "@ranklab/gpu-trainer/daemon/policy-phase";
import { postFreshCompletions, runNextTrainingRun, type RunResult } from "@ranklab/gpu-trainer/daemon/training-run";
import { defaultCorporaDir, defaultCorpusFiles } from "@ranklab/gpu-trainer/data/default-corpus";
import { trainPpo, type EpochMetrics } from "@ranklab/gpu-trainer/ppo/train";
import { prepare } from "@ranklab/gpu-trainer/prepare/prepare";
import type { RewardFunction } from "@ranklab/gpu-trainer/reward-functions/reward-function";
import { modelReward } from "@ranklab/gpu-trainer/reward-functions/model-rewards";
import { retryingFetch, trainerApi } from "@ranklab/gpu-trainer/ranklab-api";
import { liking } from "@ranklab/local-raters";
import { loadTasteModel } from "@ranklab/local-raters/taste-model";
import { buildTasteModel } from "../lib/build-taste.ts";
import { seedPrompts, startApiDev } from "../lib/api-dev.ts";
import { freePort } from "../lib/free-port.ts";
import { REPO_ROOT } from "../lib/local-env.ts";
import { ProcessGroup, typescriptCommand } from "../lib/processes.ts";

const RUNS = Number(process.env.LOOP_RUNS ?? 8);
// Labels a run waits for at most; the raters usually finish their tasks sooner.
const LABEL_WAIT_SECONDS = Number(process.env.LOOP_LABEL_WAIT_SECONDS ?? 300);
// Fresh samples the gold reward is measured on (at least 64, the issue's floor).
const JUDGE_SAMPLES = Math.max(64, Number(process.env.LOOP_JUDGE_SAMPLES ?? 128));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const standardError = (xs: number[]) => {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / Math.max(1, xs.length - 1) / Math.max(1, xs.length));
};

interface Judged extends PolicyEvaluation {
  gold: number;
  goldSe: number;
  /** Each sample's gold worth. */
  golds: number[];
}

const ALGORITHMS = ["ppo", "grpo", "dpo"] as const satisfies readonly PolicyAlgorithm[];

/** LOOP_ALGORITHM: the daemon's policy.algorithm for the loop (ppo, the default; grpo; dpo), or `all` to compare the three. */
function loopAlgorithms(): PolicyAlgorithm[] {
  // Unset: the daemon's default, what `npm start` runs.
  const value = process.env.LOOP_ALGORITHM ?? DaemonConfigSchema.shape.policy.parse(undefined).algorithm;
  if (value === "all") return [...ALGORITHMS];
  if (!(ALGORITHMS as readonly string[]).includes(value)) throw new Error(`LOOP_ALGORITHM=${value}: expected ppo, grpo, dpo or all`);
  return [value as PolicyAlgorithm];
}

/** What one algorithm's loop did, for its own summary and the comparison. */
interface LoopOutcome {
  algorithm: PolicyAlgorithm;
  results: { run: RunResult; judged: Judged; labels: number; cpuSeconds: number }[];
  last: Judged;
  labelsUsed: number;
  /** Optimiser steps of the policy training (PPO and GRPO: batches, as the oracle counts them). */
  steps: number;
  activatedWorse: number;
  policiesWorse: string[];
  minutes: number;
}

export async function benchLoop(): Promise<void> {
  const started = performance.now();
  const algorithms = loopAlgorithms();
  const home = mkdtempSync(join(tmpdir(), "ranklab-loop-bench-"));
  try {
    await selectBackend(undefined);
    const modelsHome = process.env.LOOP_MODELS_HOME ?? join(REPO_ROOT, ".ranklab");
    const corpus = defaultCorpusFiles();
    console.log(
      `loop benchmark: ${RUNS} runs of ${algorithms.join(", then ")}${algorithms.length > 1 ? " (each from the same start with the same raters, prompts and judge)" : ""}; ` +
        `prepare's models from ${modelsHome}, made from ${corpus ? `real reviews in ${defaultCorporaDir()}` : "generated reviews"}${existsSync(join(modelsHome, "models", "prepare.json")) ? "" : " (making them first: minutes)"}; services on 127.0.0.1`,
    );
    const models = await prepare({ home: modelsHome, ...(corpus ? { corpus } : {}) }, () => {});
    // The raters' taste on real reviews, learned from the real rank lists; liking() for generated ones.
    const tasteBuild = corpus ? await buildTasteModel(modelsHome, console.log) : undefined;
    if (corpus && !tasteBuild) console.log("no ../shared/data/reviews rank lists: the raters judge real reviews by liking() (the keyword taste)");
    const taste = tasteBuild ? loadTasteModel(tasteBuild.dir) : undefined;
    const goldOf = (texts: readonly string[]) => (taste ? taste.worthMany(texts) : texts.map((t) => liking(t)));
    // LOOP_REWARD_BASE: none (the first reward model from scratch), a folder (another base), or prepare's reward base.
    const baseChoice = process.env.LOOP_REWARD_BASE;
    const baseModel = baseChoice === "none" ? undefined : baseChoice ? resolve(baseChoice) : models.rewardBaseDir;
    // LOOP_COMPARE_BASES: other base folders (comma-separated), each fine-tuned on run 1's labels beside the base and scratch.
    const compareWithBases = (process.env.LOOP_COMPARE_BASES ?? "")
      .split(",")
      .filter((dir) => dir.trim() !== "")
      .map((dir) => resolve(dir.trim()));
    console.log(
      `gold: ${taste ? `the taste model in ${taste.dir} (rank_dev pairwise accuracy ${tasteBuild!.devAccuracy.toFixed(4)}; worth = standardised score)` : "liking() (keyword count)"}; ` +
        `first reward model: ${baseModel ? `fine-tuned from ${baseModel}` : "from scratch"}`,
    );
    const samplesFile = join(REPO_ROOT, "logs", `loop-samples-${new Date().toISOString().replace(/[:.]/g, "-")}.jsonl`);
    mkdirSync(join(REPO_ROOT, "logs"), { recursive: true });

    // Set by the first loop (or the oracle-only run): the prompts, the start, its reference and the start's gold, the same for every algorithm.
    let shared: { prompts: string[]; start: string; reference: string; baseline: Judged; config: DaemonSettings } | undefined;
    const judgeWith = async (prompts: string[], config: DaemonSettings, policyDir: string, referenceDir: string, stage: string): Promise<Judged> => {
      // The judge: the raters' own rule, on fresh samples the trainer never sees. One seed for
      // every policy (common random numbers), so run-to-run differences are the policy's, not the draw's.
      const e = await evaluatePolicy(policyDir, referenceDir, prompts, { samples: JUDGE_SAMPLES, sampling: { ...config.ppo.config.generation, seed: 777 } });
      const golds = goldOf(e.samples);
      appendFileSync(
        samplesFile,
        e.samples.map((text, i) => `${JSON.stringify({ stage, prompt: prompts[i % prompts.length], text, gold: golds[i] })}\n`).join(""),
      );
      return { ...e, gold: mean(golds), goldSe: standardError(golds), golds };
    };
    const row = (name: string, j: Judged) =>
      `${name.padEnd(10)} gold ${j.gold.toFixed(3)} ± ${j.goldSe.toFixed(3)}  distinct-2 ${j.distinct2.toFixed(3)}  mean length ${j.meanChars.toFixed(1)}  KL to ref ${j.klToReference.toFixed(3)}`;
    const showSamples = (name: string, prompts: string[], j: Judged) =>
      console.log(
        `${name}'s samples (gold worth):\n${j.samples
          .slice(0, 8)
          .map((s, k) => `  ${j.golds[k]!.toFixed(2).padStart(6)}  ${prompts[k % prompts.length]}｜${s}`)
          .join("\n")}`,
      );

    /** One algorithm's loop: its own API (a fresh D1 and R2), its own raters, RUNS runs, each judged. */
    const runLoop = async (algorithm: PolicyAlgorithm, oracleOnly: boolean): Promise<LoopOutcome | undefined> => {
      const t0 = performance.now();
      const loopHome = join(home, algorithm);
      process.env.RANKLAB_HOME = loopHome;
      const group = new ProcessGroup(() => {});
      const raters = new ProcessGroup(() => {});
      try {
        const api = await startApiDev({ port: await freePort(), group });
        await seedPrompts(api);
        // wrangler dev closes idle keep-alive sockets as clients reuse them; reads are retried.
        const admin = createApiClient(api.url, api.tokens.ADMIN_API_TOKEN, retryingFetch);
        // prepare's prompts too, as `npm start` adds them: on real reviews, openings of held-out real reviews.
        if (corpus) await admin.v1.prompts.$post({ json: { prompts: models.prompts.map((text) => ({ text, source: "prepare" })) } });
        const config = DaemonConfigSchema.parse({
          apiUrl: api.url,
          trainerToken: api.tokens.TRAINER_API_TOKEN,
          home: join(loopHome, "daemon"),
          fallbackPolicyDir: models.policyDir,
          // Three groups of 4 per prompt and run: enough new groups that the held-out set grows every run.
          completionsPerPrompt: 12,
          // The three raters label ~600 labels between runs; a run takes them all rather than leaving a backlog.
          leaseLimit: 2000,
          reward: { ...(baseModel ? { baseModel } : {}), compareWithScratch: true, compareWithBases },
          policy: { algorithm },
        });
        const trainer = trainerApi(config.apiUrl, config.trainerToken);
        const prompts = (await trainer.activePrompts()).map((p) => p.text);
        const start = (await currentPolicy(trainer, config))!;
        if (!shared) {
          const reference = await referencePolicy(trainer, config, start);
          const baseline = await judgeWith(prompts, config, start.dir, reference.dir, "start");
          shared = { prompts, start: start.dir, reference: reference.dir, baseline, config };
          console.log(row("start", baseline));
          showSamples("the starting policy", prompts, baseline);
        } else if (prompts.join("\n") !== shared.prompts.join("\n") || start.dir !== shared.start) {
          throw new Error(`${algorithm}'s loop does not start where the first one did (prompts or starting policy differ)`);
        }
        if (oracleOnly) return undefined;
        const { baseline, reference } = shared;
        const judge = (dir: string, stage: string) => judgeWith(prompts, config, dir, reference, stage);

        // Work for the raters: the starting policy's completions, then the bot with the simulated raters.
        await postFreshCompletions(config, start.dir, null, 1);
        raters.start("bot", ...typescriptCommand(join(REPO_ROOT, "services/local-raters/src/run-local.ts")), {
          cwd: REPO_ROOT,
          env: {
            ...process.env,
            RANKLAB_API_URL: api.url,
            RANKLAB_BOT_TOKEN: api.tokens.BOT_API_TOKEN,
            TRAINER_API_TOKEN: api.tokens.TRAINER_API_TOKEN,
            RATER_PAUSE_MS: "50",
            RATER_RECHECK_SECONDS: "2",
            ...(taste ? { RATER_TASTE_DIR: taste.dir } : {}),
          },
        });

        const waitForLabels = async () => {
          // Until the raters are idle (no new label for 20 s: they check back for work every 2 s) or the wait is over.
          const deadline = Date.now() + LABEL_WAIT_SECONDS * 1000;
          let last = -1;
          let stableSince = Date.now();
          for (;;) {
            const stats = await (await admin.v1.stats.$get()).json();
            const waiting = stats.labelsWaiting.rankings + stats.labelsWaiting.scores;
            if (waiting !== last) {
              last = waiting;
              stableSince = Date.now();
            }
            if ((waiting > 0 && Date.now() - stableSince > 20_000) || Date.now() > deadline) return waiting;
            await new Promise((r) => setTimeout(r, 1000));
          }
        };

        // Requesting a run is not idempotent, so a dropped connection is checked before asking again.
        const requestRun = async () => {
          try {
            await admin.v1["training-runs"].$post({ json: { kind: "full" } });
          } catch {
            const { items } = await (await admin.v1["training-runs"].$get({ query: { status: "requested" } })).json();
            if (items.length === 0) await admin.v1["training-runs"].$post({ json: { kind: "full" } });
          }
        };

        const results: LoopOutcome["results"] = [];
        let activatedWorse = 0;
        let labelsUsed = 0;
        let steps = 0;
        let activeGold = baseline;
        const policiesWorse: string[] = [];
        for (let i = 1; i <= RUNS; i++) {
          const waiting = await waitForLabels();
          await requestRun();
          const t = performance.now();
          // The trainer runs in this process: its CPU time (every onnxruntime thread) is the run's cost.
          const cpu0 = process.cpuUsage();
          let run: RunResult;
          try {
            run = (await runNextTrainingRun(config, () => {}))!;
          } catch (err) {
            // A failed run gives its lease back; the loop goes on, as the daemon's does.
            console.log(`${algorithm} run ${i}: failed: ${err instanceof Error ? err.message : String(err)}`);
            continue;
          }
          const cpu = process.cpuUsage(cpu0);
          const cpuSeconds = (cpu.user + cpu.system) / 1e6;
          const seconds = (performance.now() - t) / 1000;
          const policy = (await currentPolicy(trainer, config))!;
          const judged = await judge(policy.dir, `${algorithm} run ${i}`);
          labelsUsed += run.used.rankings + run.used.scores;
          steps += run.policy?.metrics.steps ?? 0;
          results.push({ run, judged, labels: labelsUsed, cpuSeconds });
          const r = run.reward;
          if (r?.verdict.activate && r.activeAccuracy !== undefined && r.candidateAccuracy < r.activeAccuracy) activatedWorse++;
          if (run.policy?.verdict.activate) {
            // A policy that went live with a lower gold than the one it replaced (same judge seed), and whether by more than the gold's SE.
            if (judged.gold < activeGold.gold)
              policiesWorse.push(
                `run ${i}: ${activeGold.gold.toFixed(3)} → ${judged.gold.toFixed(3)}${activeGold.gold - judged.gold > judged.goldSe ? " (by more than the SE)" : ""}`,
              );
            activeGold = judged;
          }
          const skipped = Object.values(run.skipped.rankings).reduce((a, b) => a + b, 0) + Object.values(run.skipped.scores).reduce((a, b) => a + b, 0);
          console.log(
            `${algorithm} run ${i} (${seconds.toFixed(0)} s, ${(cpuSeconds / 60).toFixed(1)} CPU min, ${waiting} labels waiting): used ${run.used.rankings} rankings + ${run.used.scores} scores, skipped ${skipped}` +
              (run.released ? `; released: ${run.released}` : "") +
              (r
                ? `; reward candidate (from ${r.startedFrom}) ${r.candidateAccuracy.toFixed(3)} vs active ${r.activeAccuracy?.toFixed(3) ?? "none"}` +
                  `${r.scratchAccuracy !== undefined ? ` (from scratch on the same labels: ${r.scratchAccuracy.toFixed(3)})` : ""}` +
                  Object.entries(r.comparedAccuracy ?? {})
                    .map(([dir, accuracy]) => ` (from ${dir} on the same labels: ${accuracy.toFixed(3)})`)
                    .join("") +
                  ` on ${r.heldOutPairs} held-out pairs → ${r.verdict.activate ? "activated" : "rejected"}`
                : "") +
              (run.policy
                ? `; policy ${run.policy.verdict.activate ? "activated" : `rejected (${run.policy.verdict.reason})`} after ${run.policy.metrics.steps} ${algorithm.toUpperCase()} steps (gate reward ${run.policy.metrics["eval/reward_mean"]?.toFixed(3)} vs active ${run.policy.metrics["eval/active_reward_mean"]?.toFixed(3)})`
                : ""),
          );
          console.log(row(`  policy`, judged) + `  labels used so far ${labelsUsed}`);
        }
        const last = results.at(-1)?.judged ?? baseline;
        showSamples(`${algorithm}'s last policy`, prompts, last);
        return { algorithm, results, last, labelsUsed, steps, activatedWorse, policiesWorse, minutes: (performance.now() - t0) / 60000 };
      } finally {
        await raters.stop();
        await group.stop();
      }
    };

    // The oracle: PPO from the same start, run by run as the loop runs it (config.ppo.steps a run, β carried over,
    // the same early stop at the KL share), with the gold itself as the reward: no labels, no reward model, no gates.
    const runOracle = async (totalSteps: number) => {
      const { config, prompts, start, reference } = shared!;
      const oracleReward: RewardFunction = taste
        ? await modelReward(taste.dir, { normalize: true })
        : { name: "liking()", score: async (batch) => batch.map((g) => liking(g.response)) };
      const curve: { steps: number; judged: Judged }[] = [];
      const t = performance.now();
      try {
        let from = start;
        let beta: number | undefined;
        let done = 0;
        for (let chunk = 1; done < totalSteps; chunk++) {
          const out = join(home, `oracle-${chunk}`);
          const history: EpochMetrics[] = await trainPpo(
            {
              policyDir: from,
              referenceDir: reference,
              ...(beta !== undefined && beta > 0 ? { klCoef: beta } : {}),
              epochs: Math.min(config.ppo.steps, totalSteps - done),
              stopAtKl: config.ppo.stopAtKlShare * config.ppo.klBudget,
              prompts,
              out,
              logsDir: join(home, "oracle-logs"),
              runName: `oracle-${chunk}`,
              engine: "onnx",
              samplesShown: 0,
              quiet: true,
              ppo: { ...config.ppo.config, seed: config.ppo.config.seed + 100 + chunk },
            },
            oracleReward,
            () => {},
          );
          // A run cut short by the KL stop still counts its planned steps, as the loop's runs do against its total.
          done += Math.min(config.ppo.steps, totalSteps - done);
          beta = history.at(-1)?.klCoef;
          from = out;
          const judged = await judgeWith(prompts, config, out, reference, `oracle ${chunk}`);
          curve.push({ steps: done, judged });
          console.log(row(`oracle ${chunk}`, judged) + `  after ${history.length} PPO steps (${done} planned so far)`);
        }
      } finally {
        await oracleReward.close?.();
      }
      console.log(`oracle: ${totalSteps} PPO steps with the gold as the reward in ${((performance.now() - t) / 1000).toFixed(0)} s`);
      return curve;
    };

    // LOOP_ORACLE_ONLY=1: only the oracle's curve, LOOP_RUNS runs of it (e.g. beside a loop run that cannot wait for its own).
    if (process.env.LOOP_ORACLE_ONLY === "1") {
      await runLoop(algorithms[0]!, true);
      const curve = await runOracle(RUNS * shared!.config.ppo.steps);
      showSamples("the oracle", shared!.prompts, curve.at(-1)!.judged);
      return;
    }

    const outcomes: LoopOutcome[] = [];
    for (const algorithm of algorithms) {
      if (algorithms.length > 1) console.log(`\n== ${algorithm} ==`);
      outcomes.push((await runLoop(algorithm, false))!);
    }
    const { baseline, prompts, config } = shared!;
    // One PPO loop: the oracle takes the steps it took. Otherwise every run's planned steps, so each algorithm meets the same oracle.
    const oracleSteps = algorithms.length === 1 && algorithms[0] === "ppo" ? outcomes[0]!.steps : RUNS * config.ppo.steps;
    const oracleCurve = await runOracle(oracleSteps);
    const oracle = oracleCurve.at(-1)?.judged ?? baseline;
    showSamples("the oracle", prompts, oracle);
    const oracleGain = oracle.gold - baseline.gold;

    for (const o of outcomes) {
      console.log(`\n${o.algorithm}: label efficiency (gold reward of the active policy against the labels used so far):`);
      console.log(`  ${"0".padStart(6)} labels  gold ${baseline.gold.toFixed(3)} ± ${baseline.goldSe.toFixed(3)}`);
      for (const { labels, judged } of o.results)
        console.log(`  ${String(labels).padStart(6)} labels  gold ${judged.gold.toFixed(3)} ± ${judged.goldSe.toFixed(3)}`);
      const gain = o.last.gold - baseline.gold;
      console.log(
        `${o.algorithm} loop: ${RUNS} runs in ${o.minutes.toFixed(1)} min, ${o.labelsUsed} labels, ${o.steps} ${o.algorithm.toUpperCase()} steps; gold reward ${baseline.gold.toFixed(3)} → ${o.last.gold.toFixed(3)} ` +
          `(gain ${gain.toFixed(3)} ± ${Math.hypot(baseline.goldSe, o.last.goldSe).toFixed(3)}); oracle gain ${oracleGain.toFixed(3)}; loop / oracle ${(gain / oracleGain).toFixed(2)}; ` +
          `distinct-2 ${baseline.distinct2.toFixed(3)} → ${o.last.distinct2.toFixed(3)} (ratio ${(o.last.distinct2 / baseline.distinct2).toFixed(3)}; oracle's ${(oracle.distinct2 / baseline.distinct2).toFixed(3)}); ` +
          `reward models activated below the active one: ${o.activatedWorse}; policies activated with a lower gold than the one they replaced: ${o.policiesWorse.length}${o.policiesWorse.length ? ` (${o.policiesWorse.join("; ")})` : ""}`,
      );
    }
    console.log(`oracle curve (gold after the same PPO steps): ${oracleCurve.map((c) => `${c.steps} steps ${c.judged.gold.toFixed(3)}`).join(", ")}`);
    if (outcomes.length > 1) {
      console.log(
        `\ncomparison (${RUNS} runs each from the same start, same raters and prompts; KL budget ${config.ppo.klBudget} nats; oracle gain ${oracleGain.toFixed(3)} after ${oracleSteps} PPO steps):`,
      );
      console.log(
        "| algorithm | gold start → last | gain ± SE | share of the oracle's gain | KL to ref | distinct-2 ratio | labels | policies activated | CPU min a run (training) |",
      );
      console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
      for (const o of outcomes) {
        const gain = o.last.gold - baseline.gold;
        const activated = o.results.filter((r) => r.run.policy?.verdict.activate).length;
        const cpuMinutes = mean(o.results.map((r) => r.cpuSeconds)) / 60;
        console.log(
          `| ${o.algorithm} | ${baseline.gold.toFixed(3)} → ${o.last.gold.toFixed(3)} | ${gain >= 0 ? "+" : ""}${gain.toFixed(3)} ± ${Math.hypot(baseline.goldSe, o.last.goldSe).toFixed(3)} | ${(gain / oracleGain).toFixed(2)} | ` +
            `${o.last.klToReference.toFixed(2)} | ${(o.last.distinct2 / baseline.distinct2).toFixed(3)} | ${o.labelsUsed} | ${activated} of ${o.results.length} | ${cpuMinutes.toFixed(1)} |`,
        );
      }
      const withinBudget = outcomes.filter((o) => o.last.klToReference <= config.ppo.klBudget);
      const best = withinBudget.sort((a, b) => b.last.gold - a.last.gold)[0];
      console.log(best ? `highest gold within the KL budget: ${best.algorithm}` : "no algorithm stayed within the KL budget");
    }
    console.log(`\nbenchmark: ${((performance.now() - started) / 60000).toFixed(1)} min; all judged samples: ${samplesFile}`);
    taste?.close();
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
