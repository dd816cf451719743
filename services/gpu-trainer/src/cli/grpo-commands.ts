import { join } from "node:path";
import { UserError } from "../errors.ts";
import { parseOrExplain } from "../io/json-file.ts";
import { GrpoRunSchema, trainGrpo } from "../grpo/train.ts";
import { prepare, preparedCorpus, readPreparedPrompts } from "../prepare/prepare.ts";
import { httpReward } from "../reward-functions/http-reward.ts";
import { modelReward } from "../reward-functions/model-rewards.ts";
import type { RewardFunction } from "../reward-functions/reward-function.ts";
import { intFlag, numberFlag, parseCommandArgs, readConfigFlag } from "./args.ts";

/**
 * `grpo demo`: `ppo demo`'s sibling: the same policy, prompts and sentiment-classifier
 * reward (prepare's embedded defaults unless --policy / --reward-model / --reward-url say
 * otherwise), trained by GRPO: groups of completions per prompt, no value head.
 */
export async function grpoDemoCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs("grpo demo", argv, {
    home: { type: "string" },
    policy: { type: "string" },
    "reward-model": { type: "string" },
    "reward-url": { type: "string" },
    "reward-token": { type: "string" },
    prompt: { type: "string", multiple: true },
    corpus: { type: "string", multiple: true },
    epochs: { type: "string" },
    "batch-size": { type: "string" },
    "group-size": { type: "string" },
    "mini-batch-size": { type: "string" },
    lr: { type: "string" },
    beta: { type: "string" },
    advantage: { type: "string" },
    "max-new-tokens": { type: "string" },
    seed: { type: "string" },
    config: { type: "string" },
    out: { type: "string" },
    "logs-dir": { type: "string" },
    quiet: { type: "boolean" },
  });
  if (values["reward-model"] && values["reward-url"]) throw new UserError("grpo demo: give --reward-model or --reward-url, not both");
  if (positionals.length > 0 && !values.corpus) throw new UserError(`grpo demo: unexpected argument "${positionals[0]}"`);
  const home = values.home ?? ".ranklab";
  const needsDefaults = !values.policy || (!values["reward-model"] && !values["reward-url"]);
  const corpus = values.corpus ? [...values.corpus, ...positionals] : preparedCorpus(home);
  const defaults = needsDefaults ? await prepare({ home, quiet: values.quiet ?? false, ...(corpus ? { corpus } : {}) }) : undefined;
  const { values: fromFile, name } = readConfigFlag(values.config, "grpo demo flags");
  const grpoFromFile = (fromFile.grpo ?? {}) as Record<string, unknown>;
  const maxNew = intFlag("max-new-tokens", values["max-new-tokens"]);
  const flags = Object.fromEntries(
    Object.entries({
      batchSize: intFlag("batch-size", values["batch-size"]),
      groupSize: intFlag("group-size", values["group-size"]),
      miniBatchSize: intFlag("mini-batch-size", values["mini-batch-size"]),
      learningRate: numberFlag("lr", values.lr),
      beta: numberFlag("beta", values.beta),
      advantage: values.advantage,
      seed: intFlag("seed", values.seed),
    }).filter(([, v]) => v !== undefined),
  );
  const options = parseOrExplain(name, GrpoRunSchema, {
    ...fromFile,
    policyDir: values.policy ?? defaults!.policyDir,
    prompts: values.prompt ?? fromFile.prompts ?? defaults?.prompts ?? readPreparedPrompts(home),
    out: values.out ?? fromFile.out ?? join(home, "runs", "grpo-sentiment"),
    ...(values["logs-dir"] ? { logsDir: values["logs-dir"] } : {}),
    ...(values.epochs ? { epochs: intFlag("epochs", values.epochs) } : {}),
    ...(values.quiet ? { quiet: true } : {}),
    grpo: { ...grpoFromFile, ...flags, ...(maxNew ? { generation: { ...((grpoFromFile.generation as object) ?? {}), maxNewTokens: maxNew } } : {}) },
  });
  const reward: RewardFunction = values["reward-url"]
    ? httpReward(values["reward-url"], values["reward-token"] ? { token: values["reward-token"] } : {})
    : await modelReward(values["reward-model"] ?? defaults!.classifierDir, { engine: "onnx" });
  try {
    await trainGrpo(options, reward);
  } finally {
    await reward.close?.();
  }
}
