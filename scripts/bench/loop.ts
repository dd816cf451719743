/**
 * `npm run bench loop`: does the loop learn from its raters without collapsing? The real
 * services on loopback (the API under wrangler dev with D1 and R2, the labeler bot on a
 * local Bot API server with the three simulated raters, the trainer's runs in this
 * process), for LOOP_RUNS training runs (default 8). Before the first run and after
 * each, the active policy is judged by the raters' own rule (liking(), which the trainer
 * never sees) on 64 fresh samples: the gold reward. The baseline is the starting policy,
 * measured the same way in the same process; the figures at the end are the last
 * policy's gold reward minus the first's and the ratio of their distinct-2.
 *
 * Models: prepare's defaults, made once under LOOP_MODELS_HOME (default .ranklab, where
 * `npm start` keeps them), so the benchmark's minutes go to the loop itself; from the
 * real reviews in ../shared/data/corpora when that folder exists, as `npm start` makes them.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApiClient } from "@ranklab/api/client";
import { selectBackend } from "../../services/gpu-trainer/src/backend/select-backend.ts";
import { DaemonConfigSchema } from "../../services/gpu-trainer/src/daemon/config.ts";
import { evaluatePolicy, type PolicyEvaluation } from "../../services/gpu-trainer/src/daemon/policy-eval.ts";
import { currentPolicy, referencePolicy } from "../../services/gpu-trainer/src/daemon/policy-phase.ts";
import { postFreshCompletions, runNextTrainingRun, type RunResult } from "../../services/gpu-trainer/src/daemon/training-run.ts";
import { defaultCorporaDir, defaultCorpusFiles } from "../../services/gpu-trainer/src/data/default-corpus.ts";
import { prepare } from "../../services/gpu-trainer/src/prepare/prepare.ts";
import { retryingFetch, trainerApi } from "../../services/gpu-trainer/src/ranklab-api.ts";
import { liking } from "../../services/labeler-bot/src/local/simulated-rater.ts";
import { seedPrompts, startApiDev } from "../lib/api-dev.ts";
import { freePort } from "../lib/free-port.ts";
import { REPO_ROOT } from "../lib/local-env.ts";
import { ProcessGroup } from "../lib/processes.ts";

const RUNS = Number(process.env.LOOP_RUNS ?? 8);
// Labels a run waits for at most; the raters usually finish their tasks sooner.
const LABEL_WAIT_SECONDS = Number(process.env.LOOP_LABEL_WAIT_SECONDS ?? 300);
// Fresh samples the gold reward is measured on (at least 64, the issue's floor).
const JUDGE_SAMPLES = Math.max(64, Number(process.env.LOOP_JUDGE_SAMPLES ?? 128));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

interface Judged extends PolicyEvaluation {
  gold: number;
}

export async function benchLoop(): Promise<void> {
  const started = performance.now();
  const home = mkdtempSync(join(tmpdir(), "ranklab-loop-bench-"));
  const group = new ProcessGroup(() => {});
  const raterLines: string[] = [];
  const raters = new ProcessGroup((line) => raterLines.push(line));
  try {
    await selectBackend(undefined);
    const modelsHome = process.env.LOOP_MODELS_HOME ?? join(REPO_ROOT, ".ranklab");
    const corpus = defaultCorpusFiles();
    console.log(
      `loop benchmark: ${RUNS} runs; prepare's models from ${modelsHome}, made from ${corpus ? `real reviews in ${defaultCorporaDir()}` : "generated reviews"}${existsSync(join(modelsHome, "models", "prepare.json")) ? "" : " (making them first: minutes)"}; services on 127.0.0.1`,
    );
    const models = await prepare({ home: modelsHome, ...(corpus ? { corpus } : {}) }, () => {});
    process.env.RANKLAB_HOME = home;
    const api = await startApiDev({ port: await freePort(), group });
    await seedPrompts(api);
    // wrangler dev closes idle keep-alive sockets as clients reuse them; reads are retried.
    const admin = createApiClient(api.url, api.tokens.ADMIN_API_TOKEN, retryingFetch);
    const config = DaemonConfigSchema.parse({
      apiUrl: api.url,
      trainerToken: api.tokens.TRAINER_API_TOKEN,
      home: join(home, "daemon"),
      fallbackPolicyDir: models.policyDir,
      // Three groups of 4 per prompt and run: enough new groups that the held-out set grows every run.
      completionsPerPrompt: 12,
      // The three raters label ~600 labels between runs; a run takes them all rather than leaving a backlog.
      leaseLimit: 2000,
    });
    const trainer = trainerApi(config.apiUrl, config.trainerToken);
    const prompts = (await trainer.activePrompts()).map((p) => p.text);

    // The judge: the raters' own rule, on fresh samples the trainer never sees. One seed for
    // every policy (common random numbers), so run-to-run differences are the policy's, not the draw's.
    const judge = async (policyDir: string, referenceDir: string): Promise<Judged> => {
      const e = await evaluatePolicy(policyDir, referenceDir, prompts, { samples: JUDGE_SAMPLES, sampling: { ...config.ppo.config.generation, seed: 777 } });
      return { ...e, gold: mean(e.samples.map((text) => liking(text))) };
    };
    const start = (await currentPolicy(trainer, config))!;
    const reference = await referencePolicy(trainer, config, start);
    const baseline = await judge(start.dir, reference.dir);
    const row = (name: string, j: Judged) =>
      `${name.padEnd(10)} gold ${j.gold.toFixed(3)}  distinct-2 ${j.distinct2.toFixed(3)}  mean length ${j.meanChars.toFixed(1)}  KL to ref ${j.klToReference.toFixed(3)}`;
    console.log(row("start", baseline));

    // Work for the raters: the starting policy's completions, then the bot with the simulated raters.
    await postFreshCompletions(config, start.dir, null, 1);
    raters.start("bot", join(REPO_ROOT, "node_modules/.bin/tsx"), [join(REPO_ROOT, "services/labeler-bot/src/local/run-local.ts")], {
      cwd: REPO_ROOT,
      env: { ...process.env, RANKLAB_API_URL: api.url, RANKLAB_BOT_TOKEN: api.tokens.BOT_API_TOKEN, TRAINER_API_TOKEN: api.tokens.TRAINER_API_TOKEN, RATER_PAUSE_MS: "50", RATER_RECHECK_SECONDS: "2" },
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

    const results: { run: RunResult; judged: Judged }[] = [];
    let activatedWorse = 0;
    for (let i = 1; i <= RUNS; i++) {
      const waiting = await waitForLabels();
      await requestRun();
      const t = performance.now();
      let run: RunResult;
      try {
        run = (await runNextTrainingRun(config, () => {}))!;
      } catch (err) {
        // A failed run gives its lease back; the loop goes on, as the daemon's does.
        console.log(`run ${i}: failed: ${err instanceof Error ? err.message : String(err)}`);
        continue;
      }
      const seconds = (performance.now() - t) / 1000;
      const policy = (await currentPolicy(trainer, config))!;
      const judged = await judge(policy.dir, reference.dir);
      results.push({ run, judged });
      const r = run.reward;
      if (r?.verdict.activate && r.activeAccuracy !== undefined && r.candidateAccuracy < r.activeAccuracy) activatedWorse++;
      const skipped = Object.values(run.skipped.rankings).reduce((a, b) => a + b, 0) + Object.values(run.skipped.scores).reduce((a, b) => a + b, 0);
      console.log(
        `run ${i} (${seconds.toFixed(0)} s, ${waiting} labels waiting): used ${run.used.rankings} rankings + ${run.used.scores} scores, skipped ${skipped}` +
          (run.released ? `; released: ${run.released}` : "") +
          (r
            ? `; reward candidate ${r.candidateAccuracy.toFixed(3)} vs active ${r.activeAccuracy?.toFixed(3) ?? "none"} on ${r.heldOutPairs} held-out pairs → ${r.verdict.activate ? "activated" : "rejected"}`
            : "") +
          (run.policy ? `; policy ${run.policy.verdict.activate ? "activated" : `rejected (${run.policy.verdict.reason})`}` : ""),
      );
      console.log(row(`  policy`, judged));
    }
    const last = results.at(-1)?.judged ?? baseline;
    console.log(
      `\nloop: ${RUNS} runs in ${((performance.now() - started) / 60000).toFixed(1)} min; gold reward ${baseline.gold.toFixed(3)} → ${last.gold.toFixed(3)} ` +
        `(delta ${(last.gold - baseline.gold).toFixed(3)}); distinct-2 ${baseline.distinct2.toFixed(3)} → ${last.distinct2.toFixed(3)} ` +
        `(ratio ${(last.distinct2 / baseline.distinct2).toFixed(3)}); reward models activated below the active one: ${activatedWorse}`,
    );
    console.log(`last policy's samples:\n${last.samples.slice(0, 6).map((s, k) => `  ${prompts[k % prompts.length]}${s}`).join("\n")}`);
  } finally {
    await raters.stop();
    await group.stop();
    rmSync(home, { recursive: true, force: true });
  }
}
