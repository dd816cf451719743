import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.ts";
import { readBertDir } from "../io/bert-dir.ts";
import { parseOrExplain } from "../io/json-file.ts";
import { OnnxBertScorer } from "../onnx/bert-session.ts";
import { exportBertOnnx } from "../onnx/export-bert.ts";
import { asItems, scoreItems } from "../reward-model/score-tfjs.ts";
import { pretrainSentimentFromFiles, SentimentPretrainSchema } from "../reward-model/pretrain-sentiment.ts";
import { trainRewardModel } from "../reward-model/train.ts";
import { RewardTrainConfigSchema } from "../reward-model/train-config.ts";
import { bertParamSpecs } from "../models/bert.ts";
import { disposeParams, paramsFromStore } from "../models/params.ts";
import { resolveModelDir } from "../hub/resolve-model.ts";
import { intFlag, numberFlag, parseCommandArgs, readConfigFlag } from "./args.ts";
import { ensureCurrentOnnx } from "../onnx/weights-stamp.ts";

/** `reward train`: flags override a JSON config file, which overrides the defaults. */
export async function rewardTrain(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs("reward train", argv, {
    config: { type: "string" },
    train: { type: "string", multiple: true },
    dev: { type: "string" },
    out: { type: "string" },
    "base-model": { type: "string" },
    epochs: { type: "string" },
    "max-length": { type: "string" },
    "lists-per-step": { type: "string" },
    lr: { type: "string" },
    dropout: { type: "string" },
    engine: { type: "string" },
    "log-every": { type: "string" },
    "eval-every": { type: "string" },
    "logs-dir": { type: "string" },
    "run-name": { type: "string" },
    seed: { type: "string" },
    quiet: { type: "boolean" },
    backend: { type: "string" },
  });
  const { values: fromFile, name: configName } = readConfigFlag(values.config, "reward train flags");
  const flags = Object.fromEntries(
    Object.entries({
      train: values.train,
      dev: values.dev,
      out: values.out,
      baseModel: values["base-model"],
      epochs: intFlag("epochs", values.epochs),
      maxLength: intFlag("max-length", values["max-length"]),
      listsPerStep: intFlag("lists-per-step", values["lists-per-step"]),
      learningRate: numberFlag("lr", values.lr),
      dropout: numberFlag("dropout", values.dropout),
      engine: values.engine,
      logEvery: intFlag("log-every", values["log-every"]),
      evalEvery: intFlag("eval-every", values["eval-every"]),
      logsDir: values["logs-dir"],
      runName: values["run-name"],
      seed: intFlag("seed", values.seed),
      quiet: values.quiet,
    }).filter(([, v]) => v !== undefined),
  );
  if (values.engine !== undefined && values.engine !== "onnx" && values.engine !== "tfjs")
    throw new UserError(`reward train: --engine must be onnx or tfjs, got "${values.engine}"`);
  const config = parseOrExplain(configName, RewardTrainConfigSchema, { ...fromFile, ...flags });
  // A base model or vocabulary source may be a Hub name (hf:owner/name): from here on, a folder.
  if (config.baseModel) config.baseModel = await resolveModelDir(config.baseModel);
  if (config.vocabFrom) config.vocabFrom = await resolveModelDir(config.vocabFrom);
  await trainRewardModel(config);
}

/**
 * `reward pretrain`: a reward encoder pretrained on a labelled corpus's sentiment, written
 * as a reward-model folder that `reward train --base-model DIR` fine-tunes.
 */
export async function rewardPretrain(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs("reward pretrain", argv, {
    config: { type: "string" },
    corpus: { type: "string", multiple: true },
    exclude: { type: "string", multiple: true },
    "vocab-from": { type: "string", multiple: true },
    out: { type: "string" },
    epochs: { type: "string" },
    "max-texts": { type: "string" },
    "max-length": { type: "string" },
    lr: { type: "string" },
    seed: { type: "string" },
    quiet: { type: "boolean" },
    backend: { type: "string" },
  });
  if (!values.corpus?.length) throw new UserError("reward pretrain: --corpus FILE.csv (one or more) is required");
  if (!values.out) throw new UserError("reward pretrain: --out DIR is required");
  for (const f of [...values.corpus, ...(values.exclude ?? []), ...(values["vocab-from"] ?? [])]) if (!existsSync(f)) throw new UserError(`${f}: no such file`);
  const { values: fromFile, name: configName } = readConfigFlag(values.config, "reward pretrain flags");
  const flags = Object.fromEntries(
    Object.entries({
      epochs: intFlag("epochs", values.epochs),
      maxTexts: intFlag("max-texts", values["max-texts"]),
      maxLength: intFlag("max-length", values["max-length"]),
      learningRate: numberFlag("lr", values.lr),
      seed: intFlag("seed", values.seed),
      quiet: values.quiet,
    }).filter(([, v]) => v !== undefined),
  );
  const config = parseOrExplain(configName, SentimentPretrainSchema, { ...fromFile, ...flags });
  const result = await pretrainSentimentFromFiles(
    config,
    { corpus: values.corpus, exclude: values.exclude ?? [], vocabFrom: values["vocab-from"] ?? [] },
    values.out,
  );
  console.log(
    `sentiment-pretrained encoder in ${values.out}: held-out accuracy ${result.accuracy.toFixed(4)} on ${result.heldOutTexts} reviews, ${result.trainTexts} trained on, ${(result.seconds / 60).toFixed(1)} min`,
  );
}

/** `reward score`: one score per text, tab, the text; texts from arguments, --file (one a line) or stdin. */
export async function rewardScore(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs("reward score", argv, {
    model: { type: "string" },
    file: { type: "string" },
    "max-length": { type: "string" },
    "batch-size": { type: "string" },
    prompt: { type: "string" },
    onnx: { type: "boolean" },
    engine: { type: "string" },
    backend: { type: "string" },
  });
  // One rule: --engine, onnx by default (--onnx, the older flag, says the same).
  const engine = values.engine ?? "onnx";
  if (engine !== "onnx" && engine !== "tfjs") throw new UserError(`reward score: --engine must be onnx or tfjs, got "${engine}"`);
  if (values.onnx && engine !== "onnx") throw new UserError("reward score: --onnx and --engine tfjs contradict each other");
  if (!values.model) throw new UserError("reward score: --model DIR is required (a folder with config.json, model.safetensors, vocab.txt, or hf:owner/name)");
  let texts = positionals;
  if (values.file) {
    if (!existsSync(values.file)) throw new UserError(`${values.file}: no such file`);
    texts = readFileSync(values.file, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "");
  } else if (texts.length === 0 && !process.stdin.isTTY) {
    texts = readFileSync(0, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "");
  }
  if (texts.length === 0) throw new UserError("reward score: no texts; pass them as arguments, with --file, or on stdin");
  const modelDir = await resolveModelDir(values.model);
  const model = readBertDir(modelDir);
  const options = {
    maxLength: intFlag("max-length", values["max-length"], Math.min(128, model.config.max_position_embeddings))!,
    batchSize: intFlag("batch-size", values["batch-size"], 32)!,
  };
  // Each text is a completion of --prompt when given (a reward model trained on prompts wants it), else a whole text.
  const items = asItems(texts, values.prompt === undefined ? undefined : texts.map(() => values.prompt!));
  let scores: number[];
  if (engine === "onnx") {
    // A checkpoint folder without a current model.onnx (e.g. reward train's best/, rewritten in place) is exported
    // next to its weights first.
    const why = ensureCurrentOnnx(modelDir, (d) => exportBertOnnx(d, model));
    if (why) console.error(`reward score: exported ${join(modelDir, "model.onnx")} (${why})`);
    const scorer = await OnnxBertScorer.open(modelDir, model);
    scores = await scorer.score(items, options);
    await scorer.close();
  } else {
    // The tfjs reference path: variables made from the store.
    const params = paramsFromStore(bertParamSpecs(model.config), model.weights);
    scores = scoreItems({ ...model, params }, items, options);
    disposeParams(params);
  }
  texts.forEach((t, i) => console.log(`${scores[i]!.toFixed(4)}\t${t}`));
}
