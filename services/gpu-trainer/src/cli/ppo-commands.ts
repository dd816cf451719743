import { join } from "node:path";
import { UserError } from "../errors.ts";
import { parseOrExplain } from "../io/json-file.ts";
import { prepare, preparedCorpus, readPreparedPrompts } from "../prepare/prepare.ts";
import { PpoRunSchema, trainPpo } from "../ppo/train.ts";
import { httpReward } from "../reward-functions/http-reward.ts";
import { modelReward } from "../reward-functions/model-rewards.ts";
import { apiLabelForwarder } from "../reward-functions/api-label-forwarder.ts";
import { humanReward } from "../reward-functions/human-reward.ts";
import type { RewardFunction } from "../reward-functions/reward-function.ts";
import { resolveModelDir } from "../hub/resolve-model.ts";
import { intFlag, numberFlag, parseCommandArgs, readConfigFlag } from "./args.ts";
import { ENGINES } from "../engine/engine-name.ts";

/**
 * `prepare`: the embedded default models, made once and cached under --home; from
 * generated reviews, or from real ones with `--corpus FILE…` (or the config's `corpus`).
 */
export async function prepareCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs("prepare", argv, {
    home: { type: "string" },
    config: { type: "string" },
    engine: { type: "string" },
    corpus: { type: "string", multiple: true },
    quiet: { type: "boolean" },
  });
  const { values: fromFile } = readConfigFlag(values.config, "prepare flags");
  const engine = ENGINES.find((e) => e === values.engine);
  if (values.engine !== undefined && !engine) throw new UserError(`prepare: --engine must be onnx or tfjs, got "${values.engine}"`);
  // --engine picks what pretrains the policy (policy.train.engine), over the config's choice.
  const policy = (fromFile.policy ?? {}) as Record<string, unknown>;
  const withEngine = engine ? { policy: { ...policy, train: { ...((policy.train ?? {}) as Record<string, unknown>), engine } } } : {};
  // `--corpus a.csv b.csv` and `--corpus a.csv --corpus b.csv` both give two files.
  if (positionals.length > 0 && !values.corpus) throw new UserError(`prepare: unexpected argument "${positionals[0]}" (corpus files follow --corpus)`);
  const corpus = values.corpus ? [...values.corpus, ...positionals] : undefined;
  const result = await prepare({
    ...fromFile,
    ...withEngine,
    ...(corpus ? { corpus } : {}),
    ...(values.home ? { home: values.home } : {}),
    ...(values.quiet ? { quiet: true } : {}),
  });
  console.log(
    result.cached ? `prepare: up to date (${result.policyDir}, ${result.classifierDir})` : `prepare: made ${result.policyDir} and ${result.classifierDir}`,
  );
}

/**
 * `ppo demo`: the seed's sentiment PPO; the embedded defaults unless --policy /
 * --reward-model / --reward-url say otherwise. `ppo human`: the same loop with a person
 * typing each score (the seed's step 2).
 */
export async function ppoCommand(argv: string[], mode: "demo" | "human" = "demo"): Promise<void> {
  const command = `ppo ${mode}`;
  const { values, positionals } = parseCommandArgs(command, argv, {
    scale: { type: "string" },
    labels: { type: "string" },
    "api-url": { type: "string" },
    "api-token": { type: "string" },
    rater: { type: "string" },
    home: { type: "string" },
    policy: { type: "string" },
    "reward-model": { type: "string" },
    "reward-url": { type: "string" },
    "reward-token": { type: "string" },
    prompt: { type: "string", multiple: true },
    corpus: { type: "string", multiple: true },
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
  if (values["reward-model"] && values["reward-url"]) throw new UserError(`${command}: give --reward-model or --reward-url, not both`);
  if (mode === "human" && (values["reward-model"] || values["reward-url"]))
    throw new UserError("ppo human: the reward is the person; --reward-model and --reward-url do not apply");
  if (mode === "demo" && (values.scale || values.labels || values["api-url"] || values.rater))
    throw new UserError("ppo demo: --scale, --labels, --api-url and --rater are for `ppo human`");
  // The API, when configured, also receives each typed score (flags, or RANKLAB_API_URL / ADMIN_API_TOKEN, the name
  // secrets.env gives it; RANKLAB_ADMIN_TOKEN, its earlier name, still works: docs/glossary.md).
  const apiUrl = values["api-url"] ?? process.env.RANKLAB_API_URL;
  const apiToken = values["api-token"] ?? process.env.ADMIN_API_TOKEN ?? process.env.RANKLAB_ADMIN_TOKEN;
  if (apiUrl && !apiToken) throw new UserError(`${command}: --api-url needs --api-token (or ADMIN_API_TOKEN), an admin token`);
  const raterName = values.rater ?? process.env.USER ?? "terminal";
  if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(raterName)) throw new UserError(`${command}: --rater must be 1–64 letters, digits or _.@-, got "${raterName}"`);
  const scale = values.scale ?? "0-1";
  if (scale !== "0-1" && scale !== "1-5") throw new UserError(`${command}: --scale must be 0-1 or 1-5, got "${scale}"`);
  const home = values.home ?? ".ranklab";
  // The embedded defaults are made (or found cached) only when a model is not given.
  const needsDefaults = !values.policy || (mode === "demo" && !values["reward-model"] && !values["reward-url"]);
  // The defaults' corpus: --corpus, else the one the models under --home were made from (so they stay cached), else generated reviews.
  if (positionals.length > 0 && !values.corpus) throw new UserError(`${command}: unexpected argument "${positionals[0]}"`);
  const corpus = values.corpus ? [...values.corpus, ...positionals] : preparedCorpus(home);
  const defaults = needsDefaults ? await prepare({ home, quiet: values.quiet ?? false, ...(corpus ? { corpus } : {}) }) : undefined;
  const { values: fromFile, name: configName } = readConfigFlag(values.config, `${command} flags`);
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
  // A person reads every sample and scores a few a batch; trl's tutorial did the same with batch 4.
  // No progress bar under the questions: the epoch lines say where training is.
  const humanDefaults =
    mode === "human" ? { epochs: 1000, samplesShown: 0, runName: "PPO-Human-Zh", quiet: true, ppo: { batchSize: 4, miniBatchSize: 2 } } : { ppo: {} };
  const options = parseOrExplain(configName, PpoRunSchema, {
    ...humanDefaults,
    ...fromFile,
    policyDir: values.policy ?? defaults!.policyDir,
    // The prompts prepare wrote (the seed's four, plus real review openings with a corpus).
    prompts: values.prompt ?? fromFile.prompts ?? defaults?.prompts ?? readPreparedPrompts(home),
    out: values.out ?? fromFile.out ?? join(home, "runs", mode === "human" ? "ppo-human" : "ppo-sentiment"),
    ...(values["logs-dir"] ? { logsDir: values["logs-dir"] } : {}),
    ...(values.epochs ? { epochs: intFlag("epochs", values.epochs) } : {}),
    ...(values.engine ? { engine: values.engine } : {}),
    ...(values.quiet ? { quiet: true } : {}),
    ppo: {
      ...humanDefaults.ppo,
      ...ppoFromFile,
      ...ppoFlags,
      ...(maxNew ? { generation: { ...((ppoFromFile.generation as object) ?? {}), maxNewTokens: maxNew } } : {}),
    },
  });
  // The policy, its reference and the reward model may be Hub names (hf:owner/name): from here on, folders.
  options.policyDir = await resolveModelDir(options.policyDir);
  if (options.referenceDir) options.referenceDir = await resolveModelDir(options.referenceDir);
  let reward: RewardFunction;
  if (mode === "human") {
    reward = humanReward({
      input: process.stdin,
      output: process.stdout,
      scale,
      labelsFile: values.labels ?? join(home, "labels", "human-scores.jsonl"),
      policy: options.policyDir,
      ...(apiUrl ? { forward: apiLabelForwarder({ url: apiUrl, token: apiToken!, rater: `cli:${raterName}` }) } : {}),
    });
  } else if (values["reward-url"]) reward = httpReward(values["reward-url"], values["reward-token"] ? { token: values["reward-token"] } : {});
  else reward = await modelReward(await resolveModelDir(values["reward-model"] ?? defaults!.classifierDir), { engine: options.engine });
  try {
    await trainPpo(options, reward);
  } finally {
    await reward.close?.();
  }
}
