import { z } from "zod";
import { selectBackend } from "../backend/select-backend.ts";
import { DEVICES, useOrtDevice } from "../onnx/device.ts";
import { trainerApi } from "../ranklab-api.ts";
import { resolveModelDir } from "../hub/resolve-model.ts";
import { DaemonConfigSchema } from "./config.ts";
import { currentPolicy } from "./policy-phase.ts";
import { postFreshCompletions, requeueOwnRuns, runNextTrainingRun } from "./training-run.ts";

/**
 * The trainer daemon: polls the API for requested training runs (the cron trigger
 * requests one when enough new labels wait; a person can request one) and runs them
 * one at a time. Configuration from the environment, checked at start; every other
 * setting is DaemonConfigSchema's default (daemon/config.ts), or TRAINER_CONFIG (JSON).
 */
const EnvSchema = z.object({
  RANKLAB_API_URL: z.url(),
  TRAINER_API_TOKEN: z.string().min(16),
  RANKLAB_HOME: z.string().default(".ranklab"),
  // Stable across restarts, so a restarted daemon takes back the runs it left running.
  TRAINER_NAME: z.string().default("gpu-trainer"),
  TRAINER_POLL_SECONDS: z.coerce.number().positive().default(10),
  TRAINER_PPO_STEPS: z.coerce.number().int().min(0).optional(),
  TRAINER_REWARD_EPOCHS: z.coerce.number().int().min(1).optional(),
  TRAINER_POLICY_ALGORITHM: z.enum(["ppo", "grpo", "dpo"]).optional(),
  TRAINER_LEASE_SECONDS: z.coerce.number().int().min(1).default(3600),
  TRAINER_FALLBACK_POLICY: z.string().optional(),
  // The folder the first reward model fine-tunes (prepare's models/reward-base); used once it exists.
  TRAINER_REWARD_BASE: z.string().optional(),
  // Any other DaemonConfig field, as JSON (e.g. {"ppo":{"klBudget":6}}); the variables above win.
  TRAINER_CONFIG: z.string().optional(),
  TRAINER_BACKEND: z.enum(["tensorflow-gpu", "tensorflow", "wasm", "cpu"]).optional(),
  // Where onnxruntime runs the daemon's graphs (config `device`): cpu, or cuda with onnxruntime-node's CUDA provider.
  TRAINER_DEVICE: z.enum(DEVICES).optional(),
});
const parsed = EnvSchema.safeParse(process.env);
if (!parsed.success) {
  console.error(`trainer configuration: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  process.exit(2);
}
const env = parsed.data;
let extra: Record<string, unknown> = {};
try {
  extra = env.TRAINER_CONFIG ? (JSON.parse(env.TRAINER_CONFIG) as Record<string, unknown>) : {};
} catch (err) {
  console.error(`trainer configuration: TRAINER_CONFIG is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
}
const extraReward = (extra.reward ?? {}) as Record<string, unknown>;
const extraPpo = (extra.ppo ?? {}) as Record<string, unknown>;
const configParsed = DaemonConfigSchema.safeParse({
  ...extra,
  apiUrl: env.RANKLAB_API_URL,
  trainerToken: env.TRAINER_API_TOKEN,
  trainer: env.TRAINER_NAME,
  home: `${env.RANKLAB_HOME}/daemon`,
  pollSeconds: env.TRAINER_POLL_SECONDS,
  leaseSeconds: env.TRAINER_LEASE_SECONDS,
  reward: {
    ...extraReward,
    ...(env.TRAINER_REWARD_BASE ? { baseModel: env.TRAINER_REWARD_BASE } : {}),
    ...(env.TRAINER_REWARD_EPOCHS ? { epochs: env.TRAINER_REWARD_EPOCHS } : {}),
  },
  policy: { ...((extra.policy ?? {}) as Record<string, unknown>), ...(env.TRAINER_POLICY_ALGORITHM ? { algorithm: env.TRAINER_POLICY_ALGORITHM } : {}) },
  ppo: { ...extraPpo, ...(env.TRAINER_PPO_STEPS !== undefined ? { steps: env.TRAINER_PPO_STEPS } : {}) },
  ...(env.TRAINER_FALLBACK_POLICY ? { fallbackPolicyDir: env.TRAINER_FALLBACK_POLICY } : {}),
  ...(env.TRAINER_DEVICE ? { device: env.TRAINER_DEVICE } : {}),
});
if (!configParsed.success) {
  console.error(`trainer configuration: ${configParsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  process.exit(2);
}
const config = configParsed.data;
try {
  useOrtDevice(config.device);
} catch (err) {
  console.error(`trainer configuration: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
}
// The fallback policy may be a Hub name (hf:owner/name): downloaded into the Hugging Face cache once, then a folder.
if (config.fallbackPolicyDir) {
  try {
    config.fallbackPolicyDir = await resolveModelDir(config.fallbackPolicyDir);
  } catch (err) {
    console.error(`trainer configuration: TRAINER_FALLBACK_POLICY: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  }
}
const backend = await selectBackend(env.TRAINER_BACKEND);
console.log(`trainer: onnxruntime on ${config.device}, tfjs backend ${backend.name}; polling ${env.RANKLAB_API_URL} every ${env.TRAINER_POLL_SECONDS} s`);
const api = trainerApi(config.apiUrl, config.trainerToken);

await requeueOwnRuns(config).catch((err) => console.error(`trainer: ${err instanceof Error ? err.message : String(err)}`));

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  // A run in progress is abandoned: its lease expires and its labels return to the pool.
  process.once(signal, () => process.exit(0));
}
// Once per policy (the fallback, then each new checkpoint) the idle daemon posts completions,
// so raters have work even before the first run: without new work there are no new labels,
// and without new labels no run.
const postedFor = new Set<string>();
for (;;) {
  try {
    const result = await runNextTrainingRun(config);
    const policy = await currentPolicy(api, config);
    const key = String(policy?.checkpointId ?? "fallback");
    if (result) {
      if (result.completionsPosted > 0) postedFor.add(key);
    } else if (policy && config.completionsPerPrompt > 0 && !postedFor.has(key)) {
      postedFor.add(key);
      const n = await postFreshCompletions(config, policy.dir, policy.checkpointId, Date.now() % 100000);
      console.log(
        `trainer: posted ${n} new completions from ${policy.checkpointId ? `policy checkpoint v${policy.version ?? `? (id ${policy.checkpointId})`}` : "the fallback policy"} for raters`,
      );
    }
    if (result) continue;
  } catch (err) {
    console.error(`trainer: ${err instanceof Error ? err.message : String(err)}`);
  }
  await new Promise((r) => setTimeout(r, config.pollSeconds * 1000));
}
