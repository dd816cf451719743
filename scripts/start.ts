/**
 * `npm start`: the whole system on one machine, offline, on its embedded defaults:
 * the API Worker under wrangler dev with a local D1 and R2, and the labeler bot — on
 * Telegram when TELEGRAM_BOT_TOKEN is set, otherwise on a local Bot API server with
 * simulated raters; the scorer behind POST /v1/score; and the trainer daemon, which
 * trains on the labels when the cron trigger requests a run.
 *
 * Once the API answers it prints a one-time login link for the labeling page, signing in
 * a local admin rater (made on a fresh home) on the Runs tab.
 *
 * The log shows each service's own lines; routine repetition (wrangler's line per request,
 * the simulated raters' labels) is counted in one line a minute per service (5xx answers
 * and anything unusual are still shown at once) unless RANKLAB_VERBOSE=1 asks for every
 * one (`npm start -- --request-logs` or RANKLAB_REQUEST_LOGS=1 for the requests alone).
 *
 * It fails fast: a taken port stops it before anything starts, and a service that dies
 * stops everything with one line and a non-zero exit; RANKLAB_NO_BOT=1 (or
 * `npm start -- --no-bot`) leaves the bot out, for a start without labelers.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createApiClient } from "@ranklab/api/client";
import { defaultCorporaDir, defaultCorpusFiles } from "@ranklab/gpu-trainer/data/default-corpus";
import { adminLoginLink } from "./lib/admin-link.ts";
import { seedPrompts, startApiDev, type ApiDev } from "./lib/api-dev.ts";
import { portIsFree } from "./lib/free-port.ts";
import { ranklabHome, REPO_ROOT } from "./lib/local-env.ts";
import { ProcessGroup, typescriptCommand } from "./lib/processes.ts";
import { requestLogSummary, wranglerRoutine } from "./lib/request-log.ts";

const port = Number(process.env.RANKLAB_API_PORT ?? 8787);
const group = new ProcessGroup();
const log = (line: string) => process.stdout.write(`[start]    ${line}\n`);
const verbose = process.env.RANKLAB_VERBOSE === "1";
const requestLogs = verbose || process.argv.includes("--request-logs") || process.env.RANKLAB_REQUEST_LOGS === "1";
const noBot = process.argv.includes("--no-bot") || process.env.RANKLAB_NO_BOT === "1";
const requests = requestLogSummary();

let stopping = false;
async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  if (code === 0) log("stopping all services");
  await group.stop();
  if (code === 0) log("stopped");
  process.exit(code);
}

/** A service npm start needs died on its own: one line saying which and how, then everything stops. */
function stopWhenItDies(name: string, child: ReturnType<ProcessGroup["start"]>, hint = "") {
  child.once("exit", (code, signal) => {
    if (stopping || group.isStopping) return;
    log(`the ${name} exited (${signal ?? `code ${code}`}); stopping everything${hint}`);
    void shutdown(1);
  });
}
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));

// Real reviews for the default models when ../shared/data/corpora is there (never shipped; docs/trainer.md says where to get them).
const corpus = defaultCorpusFiles();
const modelsDir = join(ranklabHome(), "models");

/** Whether the models under RANKLAB_HOME were made from the corpus wanted now (none, or these files). */
function modelsMatchCorpus(): boolean {
  const stamp = join(modelsDir, "prepare.json");
  if (!existsSync(stamp)) return false;
  const made = ((JSON.parse(readFileSync(stamp, "utf8")) as { corpus?: { path: string }[] }).corpus ?? []).map((c) => c.path);
  return JSON.stringify(made) === JSON.stringify(corpus ?? []);
}

/** The prompts prepare wrote (the seed's four and real review openings) become the API's prompts too: PPO runs on the active ones. */
async function addPreparedPrompts(api: ApiDev): Promise<void> {
  const file = join(modelsDir, "prompts.json");
  if (!existsSync(file)) return;
  try {
    const { prompts } = JSON.parse(readFileSync(file, "utf8")) as { prompts: string[] };
    const res = await createApiClient(api.url, api.tokens.ADMIN_API_TOKEN).v1.prompts.$post({
      json: { prompts: prompts.map((text) => ({ text, source: "prepare" })) },
    });
    if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
    const { created } = await res.json();
    if (created > 0) log(`${created} prompts from ${file} added`);
  } catch (err) {
    // The seed's prompts are there already; the system runs without these.
    log(`adding the prompts in ${file} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

try {
  const scorerPort = Number(process.env.RANKLAB_SCORER_PORT ?? port + 3);
  for (const [variable, p] of [
    ["RANKLAB_API_PORT", port],
    ["RANKLAB_SCORER_PORT", scorerPort],
  ] as const) {
    if (!(await portIsFree(p))) {
      process.stderr.write(`[start]    port ${p} on 127.0.0.1 is in use; stop what holds it or pick another: ${variable}=<free port> npm start\n`);
      process.exit(1);
    }
  }
  log(
    `state and tokens in ${ranklabHome()}; default models from ${corpus ? `real reviews in ${defaultCorporaDir()}` : `generated reviews (no ${defaultCorporaDir()})`}`,
  );
  const api = await startApiDev({
    port,
    group,
    cronEverySeconds: 60,
    vars: { SCORER_URL: `http://127.0.0.1:${scorerPort}` },
    keep: (line) => (verbose || !wranglerRoutine(line)) && (requestLogs || requests.keep(line)),
  });
  if (!requestLogs) {
    setInterval(() => {
      const summary = requests.summary();
      if (summary) process.stdout.write(`${"[api]".padEnd(10)} ${summary}\n`);
    }, 60_000).unref();
  }
  const created = await seedPrompts(api);
  log(`API ready at ${api.url} (${created} seed prompts added); API tokens in ${ranklabHome()}/secrets.env`);
  log(`labeling page, signed in as the local admin (this link works once; each start prints a new one):`);
  log(`  ${await adminLoginLink(api)}`);
  stopWhenItDies("API (wrangler dev)", api.process);
  // The scorer behind POST /v1/score: it serves the active reward checkpoint once one is published.
  const scorer = group.start("scorer", ...typescriptCommand(join(REPO_ROOT, "services/gpu-trainer/src/serve/main.ts")), {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      RANKLAB_API_URL: api.url,
      TRAINER_API_TOKEN: api.tokens.TRAINER_API_TOKEN,
      SCORER_PORT: String(scorerPort),
      RANKLAB_HOME: ranklabHome(),
    },
  });
  stopWhenItDies("scorer", scorer);
  // The simulated raters judge real-review text by the taste model learned from real rank lists when one was made
  // in this home (`npm run bench loop` makes it under <models home>/taste); otherwise by the keyword rule.
  const tasteDir = join(ranklabHome(), "taste", "best");
  const botEnv = {
    ...process.env,
    RANKLAB_API_URL: api.url,
    RANKLAB_BOT_TOKEN: api.tokens.BOT_API_TOKEN,
    TRAINER_API_TOKEN: api.tokens.TRAINER_API_TOKEN,
    ...(!process.env.RATER_TASTE_DIR && existsSync(join(tasteDir, "config.json")) ? { RATER_TASTE_DIR: tasteDir } : {}),
  };
  // The embedded default models (a GPT-2 policy and a sentiment classifier), made once in the
  // background (minutes on 2 cores) while the rest runs; RANKLAB_SKIP_PREPARE=1 leaves them out.
  if (!modelsMatchCorpus() && process.env.RANKLAB_SKIP_PREPARE !== "1") {
    log("making the default models in the background (ranklab-trainer prepare); PPO joins training runs when they are ready");
    const prepare = group.start(
      "prepare",
      ...typescriptCommand(
        join(REPO_ROOT, "services/gpu-trainer/src/cli/main.ts"),
        "prepare",
        "--home",
        ranklabHome(),
        "--quiet",
        ...(corpus ? ["--corpus", ...corpus] : []),
      ),
      { cwd: REPO_ROOT },
    );
    prepare.on("exit", (code) => {
      if (code === 0) void addPreparedPrompts(api);
    });
  } else await addPreparedPrompts(api);
  // The trainer daemon: runs requested training runs (the cron trigger requests one when enough labels wait).
  // It starts PPO from the policy `prepare` made, once that exists (or TRAINER_FALLBACK_POLICY: a folder or hf:owner/name).
  const preparedPolicy = join(ranklabHome(), "models", "policy-gpt2");
  const trainer = group.start("trainer", ...typescriptCommand(join(REPO_ROOT, "services/gpu-trainer/src/daemon/main.ts")), {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      RANKLAB_API_URL: api.url,
      TRAINER_API_TOKEN: api.tokens.TRAINER_API_TOKEN,
      RANKLAB_HOME: ranklabHome(),
      TRAINER_FALLBACK_POLICY: process.env.TRAINER_FALLBACK_POLICY ?? preparedPolicy,
      TRAINER_REWARD_BASE: process.env.TRAINER_REWARD_BASE ?? join(ranklabHome(), "models", "reward-base"),
    },
  });
  stopWhenItDies("trainer", trainer);
  if (noBot) {
    log("no bot (RANKLAB_NO_BOT=1 or --no-bot): labels come from the page and the API only");
  } else {
    const entry = process.env.TELEGRAM_BOT_TOKEN ? "services/labeler-bot/src/main.ts" : "services/local-raters/src/run-local.ts";
    const bot = group.start("bot", ...typescriptCommand(join(REPO_ROOT, entry)), {
      cwd: REPO_ROOT,
      env: { ...botEnv, ...(verbose ? { RANKLAB_VERBOSE: "1" } : {}) },
    });
    stopWhenItDies("bot", bot, "; RANKLAB_NO_BOT=1 npm start runs the rest without it");
  }
  log("Ctrl-C stops everything");
} catch (err) {
  log(`failed: ${err instanceof Error ? err.message : String(err)}`);
  await shutdown(1);
}
