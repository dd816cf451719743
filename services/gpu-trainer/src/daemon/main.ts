import { z } from "zod";
import { selectBackend } from "../backend/select-backend.ts";
import { currentPolicy, DaemonConfigSchema, postFreshCompletions, requeueOwnRuns, runOnce } from "./training-run.ts";

/**
 * The trainer daemon: polls the API for requested training runs (the cron trigger
 * requests one when enough new labels wait; a person can request one) and runs them
 * one at a time. Configuration from the environment, checked at start.
 */
const EnvSchema = z.object({
  RANKLAB_API_URL: z.url(),
  RANKLAB_TRAINER_TOKEN: z.string().min(16),
  RANKLAB_HOME: z.string().default(".ranklab"),
  // Stable across restarts, so a restarted daemon takes back the runs it left running.
  TRAINER_NAME: z.string().default("gpu-trainer"),
  TRAINER_POLL_SECONDS: z.coerce.number().positive().default(10),
  TRAINER_PPO_EPOCHS: z.coerce.number().int().min(0).default(10),
  TRAINER_REWARD_EPOCHS: z.coerce.number().int().min(1).default(3),
  TRAINER_LEASE_SECONDS: z.coerce.number().int().min(1).default(3600),
  TRAINER_FALLBACK_POLICY: z.string().optional(),
  TRAINER_BACKEND: z.enum(["tensorflow-gpu", "tensorflow", "wasm", "cpu"]).optional(),
});
const parsed = EnvSchema.safeParse(process.env);
if (!parsed.success) {
  console.error(`trainer configuration: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  process.exit(2);
}
const env = parsed.data;
const backend = await selectBackend(env.TRAINER_BACKEND);
console.log(`trainer: tfjs backend ${backend.name}; polling ${env.RANKLAB_API_URL} every ${env.TRAINER_POLL_SECONDS} s`);
const config = DaemonConfigSchema.parse({
  apiUrl: env.RANKLAB_API_URL,
  trainerToken: env.RANKLAB_TRAINER_TOKEN,
  trainer: env.TRAINER_NAME,
  home: `${env.RANKLAB_HOME}/daemon`,
  pollSeconds: env.TRAINER_POLL_SECONDS,
  ppoEpochs: env.TRAINER_PPO_EPOCHS,
  rewardEpochs: env.TRAINER_REWARD_EPOCHS,
  leaseSeconds: env.TRAINER_LEASE_SECONDS,
  ...(env.TRAINER_FALLBACK_POLICY ? { fallbackPolicyDir: env.TRAINER_FALLBACK_POLICY } : {}),
});

await requeueOwnRuns(config).catch((err) => console.error(`trainer: ${err instanceof Error ? err.message : String(err)}`));

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    // A run in progress is abandoned: its lease expires and its labels return to the pool.
    stopping = true;
    process.exit(0);
  });
}
// Once per policy (the fallback, then each new checkpoint) the idle daemon posts completions,
// so raters have work even before the first run with PPO: without new work there are no new
// labels, and without new labels no run.
const postedFor = new Set<string>();
while (!stopping) {
  try {
    const result = await runOnce(config);
    if (result) {
      const policy = await currentPolicy(config);
      if (policy && result.completionsPosted > 0) postedFor.add(String(policy.checkpointId ?? "fallback"));
      continue;
    }
    const policy = await currentPolicy(config);
    const key = String(policy?.checkpointId ?? "fallback");
    if (policy && config.completionsPerPrompt > 0 && !postedFor.has(key)) {
      postedFor.add(key);
      const n = await postFreshCompletions(config, policy.dir, policy.checkpointId, Date.now() % 100000);
      console.log(`trainer: posted ${n} new completions from ${policy.checkpointId ? `policy checkpoint ${policy.checkpointId}` : "the fallback policy"} for raters`);
    }
  } catch (err) {
    console.error(`trainer: ${err instanceof Error ? err.message : String(err)}`);
  }
  await new Promise((r) => setTimeout(r, config.pollSeconds * 1000));
}
