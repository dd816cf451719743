import { join } from "node:path";
import { z } from "zod";
import { UserError } from "../errors.ts";
import { parseOrExplain, readJsonFile } from "../io/json-file.ts";
import { SEED_PROMPTS, prepare } from "../prepare/prepare.ts";
import { DemoSchema, runPpoDemo } from "../ppo/sentiment-demo.ts";
import { httpReward } from "../rewards/http-reward.ts";
import { modelReward } from "../rewards/model-rewards.ts";
import type { RewardFunction } from "../rewards/reward-function.ts";
import { intFlag, numberFlag, parseCommandArgs } from "./args.ts";

/** `prepare`: the embedded default models, made once and cached under --home. */
export async function prepareCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs("prepare", argv, { home: { type: "string" }, config: { type: "string" }, quiet: { type: "boolean" } });
  const fromFile = values.config ? readJsonFile(values.config, z.record(z.string(), z.unknown())) : {};
  const result = await prepare({ ...fromFile, ...(values.home ? { home: values.home } : {}), ...(values.quiet ? { quiet: true } : {}) });
  console.log(result.cached ? `prepare: up to date (${result.policyDir}, ${result.classifierDir})` : `prepare: made ${result.policyDir} and ${result.classifierDir}`);
}

/** `ppo demo`: the seed's sentiment PPO; the embedded defaults unless --policy / --reward-model / --reward-url say otherwise. */
export async function ppoDemoCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs("ppo demo", argv, {
    home: { type: "string" },
    policy: { type: "string" },
    "reward-model": { type: "string" },
    "reward-url": { type: "string" },
    "reward-token": { type: "string" },
    prompt: { type: "string", multiple: true },
    epochs: { type: "string" },
    "batch-size": { type: "string" },
    "mini-batch-size": { type: "string" },
    lr: { type: "string" },
    "max-new-tokens": { type: "string" },
    seed: { type: "string" },
    engine: { type: "string" },
    config: { type: "string" },
    out: { type: "string" },
    "logs-dir": { type: "string" },
    quiet: { type: "boolean" },
  });
  if (values["reward-model"] && values["reward-url"]) throw new UserError("ppo demo: give --reward-model or --reward-url, not both");
  const home = values.home ?? ".ranklab";
  // The embedded defaults are made (or found cached) only when a model is not given.
  const defaults = !values.policy || (!values["reward-model"] && !values["reward-url"]) ? await prepare({ home, quiet: values.quiet ?? false }) : undefined;
  const fromFile = values.config ? readJsonFile(values.config, z.record(z.string(), z.unknown())) : {};
  const ppoFromFile = (fromFile.ppo ?? {}) as Record<string, unknown>;
  const ppoFlags = Object.fromEntries(
    Object.entries({
      batchSize: intFlag("batch-size", values["batch-size"]),
      miniBatchSize: intFlag("mini-batch-size", values["mini-batch-size"]),
      learningRate: numberFlag("lr", values.lr),
      seed: intFlag("seed", values.seed),
    }).filter(([, v]) => v !== undefined),
  );
  const maxNew = intFlag("max-new-tokens", values["max-new-tokens"]);
  const options = parseOrExplain(values.config ?? "ppo demo flags", DemoSchema, {
    ...fromFile,
    policyDir: values.policy ?? defaults!.policyDir,
    prompts: values.prompt ?? fromFile.prompts ?? SEED_PROMPTS,
    out: values.out ?? fromFile.out ?? join(home, "runs", "ppo-sentiment"),
    ...(values["logs-dir"] ? { logsDir: values["logs-dir"] } : {}),
    ...(values.epochs ? { epochs: intFlag("epochs", values.epochs) } : {}),
    ...(values.engine ? { engine: values.engine } : {}),
    ...(values.quiet ? { quiet: true } : {}),
    ppo: {
      ...ppoFromFile,
      ...ppoFlags,
      ...(maxNew ? { generation: { ...((ppoFromFile.generation as object) ?? {}), maxNewTokens: maxNew } } : {}),
    },
  });
  let reward: RewardFunction;
  if (values["reward-url"]) reward = httpReward(values["reward-url"], values["reward-token"] ? { token: values["reward-token"] } : {});
  else reward = await modelReward(values["reward-model"] ?? defaults!.classifierDir, { engine: options.engine });
  try {
    await runPpoDemo(options, reward);
  } finally {
    await reward.close?.();
  }
}
